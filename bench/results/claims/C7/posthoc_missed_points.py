# post hoc (not a verdict): why do C7 v2's shares stay below 0.8 while the cone cosine is ~1?
import numpy as np, torch
torch.set_num_threads(1)
from gp_spec.harness.claims._common import RunContext
from gp_spec.harness.claims import zhou
from pathlib import Path
ctx = RunContext(Path("/tmp/c7ph"), Path("/tmp/c7ph/runs"), True, (0, 1, 2), "cpu", None)
rows = []
for phi in ("linear", "softplus"):
    for seed in (0, 1, 2):
        real, fake = zhou._points(seed)
        opt = zhou.discrete_optimum(real, fake, phi, 1.0)
        critic, _, _ = zhou._train_critic(ctx, phi, seed, real, fake)
        a = zhou.alignment(critic, real, fake, opt)
        g = zhou._grad_at(critic, fake)
        r, f = real.double().numpy(), fake.double().numpy()
        for j in range(10):
            if a.closer_to_partner[j]:
                continue
            others = np.setdiff1d(np.arange(10), opt.partners[j])
            d = r[others] - f[j]; d /= np.linalg.norm(d, axis=1, keepdims=True)
            gn = g[j] / np.linalg.norm(g[j])
            ang_other = np.degrees(np.arccos(np.clip(d @ gn, -1, 1))).min()
            ang_partner = np.degrees(np.arccos(min(1.0, a.cos_partners[j])))
            # angle between the partner cone's nearest direction and the closest other point
            pdirs = r[opt.partners[j]] - f[j]; pdirs /= np.linalg.norm(pdirs, axis=1, keepdims=True)
            sep = np.degrees(np.arccos(np.clip(pdirs @ d.T, -1, 1))).min()
            rows.append((phi, seed, j, len(opt.partners[j]), round(ang_partner, 2), round(ang_other, 2), round(sep, 2)))
print("phi seed point n_partners angle_to_partner_cone angle_to_nearest_other partner-to-other_separation")
for r_ in rows: print(*r_)
