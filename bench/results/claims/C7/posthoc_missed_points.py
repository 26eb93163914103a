"""Post hoc, not a verdict: why do C7 v2's shares stay below 0.8 while the cone cosine is ~1?

For seeds 0-2 and phi linear and softplus (C7's quick training), prints every fake point whose
gradient is NOT closer to its partner cone than to another real point: the number of partners,
the angle to the partner cone, the angle to the nearest other real point, and how far (in angle)
that other point lies from the partner directions. Output: posthoc-missed-points-quick-seeds0-2.txt.

    PYTHONPATH=. python bench/results/claims/C7/posthoc_missed_points.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gp_spec.harness.claims import zhou
from gp_spec.harness.claims._common import RunContext


def main() -> None:
    torch.set_num_threads(1)
    ctx = RunContext(Path("/tmp/c7ph"), Path("/tmp/c7ph/runs"), True, (0, 1, 2), "cpu", None)
    print("phi seed point n_partners angle_to_partner_cone angle_to_nearest_other "
          "partner-to-other_separation")
    for phi in ("linear", "softplus"):
        for seed in (0, 1, 2):
            real, fake = zhou._points(seed)
            opt = zhou.discrete_optimum(real, fake, phi, 1.0)
            critic, _, _ = zhou._train_critic(ctx, phi, seed, real, fake)
            a = zhou.alignment(critic, real, fake, opt)
            g = zhou._grad_at(critic, fake)
            r, f = real.double().numpy(), fake.double().numpy()
            for j in range(f.shape[0]):
                if a.closer_to_partner[j]:
                    continue
                others = np.setdiff1d(np.arange(r.shape[0]), opt.partners[j])
                d = r[others] - f[j]
                d /= np.linalg.norm(d, axis=1, keepdims=True)
                gn = g[j] / np.linalg.norm(g[j])
                ang_other = np.degrees(np.arccos(np.clip(d @ gn, -1, 1))).min()
                ang_partner = np.degrees(np.arccos(min(1.0, a.cos_partners[j])))
                pdirs = r[opt.partners[j]] - f[j]
                pdirs /= np.linalg.norm(pdirs, axis=1, keepdims=True)
                sep = np.degrees(np.arccos(np.clip(pdirs @ d.T, -1, 1))).min()
                print(phi, seed, j, len(opt.partners[j]), round(float(ang_partner), 2),
                      round(float(ang_other), 2), round(float(sep), 2))


if __name__ == "__main__":
    main()
