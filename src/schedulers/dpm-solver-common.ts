// Config pieces shared by DPMSolverMultistep and DPMSolverSinglestep (diffusers 0.27 `__init__`).

import { LatentlabError } from '../core/errors.js';
import type { ClassSpec, FieldRule } from './config.js';

export const DPM_SOLVER_RULES: Readonly<Record<string, FieldRule>> = {
  algorithm_type: { type: 'enum', values: ['dpmsolver', 'dpmsolver++', 'sde-dpmsolver', 'sde-dpmsolver++'] },
  solver_type: { type: 'enum', values: ['midpoint', 'heun'] },
  solver_order: { type: 'number', integer: true, min: 1 },
  final_sigmas_type: { type: 'enum', values: ['zero', 'sigma_min'] },
  lambda_min_clipped: { type: 'number' },
  variance_type: { type: 'enum', values: [null] },
};

/** diffusers maps DEIS / UniPC spellings onto DPM-Solver ones so configs can be switched between them. */
export function coerceDpmSolver(className: string): NonNullable<ClassSpec['coerce']> {
  return (c) => {
    if (c.algorithm_type === 'deis') c.algorithm_type = 'dpmsolver++';
    if (c.solver_type === 'logrho' || c.solver_type === 'bh1' || c.solver_type === 'bh2') c.solver_type = 'midpoint';
    if ((c.algorithm_type === 'dpmsolver' || c.algorithm_type === 'sde-dpmsolver') && c.final_sigmas_type === 'zero') {
      throw new LatentlabError('SCHEDULER_CONFIG', `${className}: final_sigmas_type "zero" is not supported with algorithm_type "${String(c.algorithm_type)}"`, {
        key: 'final_sigmas_type',
        hint: 'use algorithm_type "dpmsolver++" (the default) or set final_sigmas_type to "sigma_min".',
      });
    }
  };
}
