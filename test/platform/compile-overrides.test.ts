// LATENTLAB_COMPILE_OPTIONS (forced compile options for a whole process) and the models' own
// compile defaults under the caller's options.
import { describe, expect, it } from 'vitest';

import { withDefaults } from '../../src/models/pretrained.js';
import { forcedCompileOptions } from '../../src/platform/node/runtime.js';

describe('compile option layers', () => {
  it('parses LATENTLAB_COMPILE_OPTIONS and rejects what it cannot use', () => {
    expect(forcedCompileOptions(undefined)).toEqual({});
    expect(forcedCompileOptions('  ')).toEqual({});
    expect(forcedCompileOptions('{"optimizationLevel":"basic","prepacking":false}')).toEqual({ optimizationLevel: 'basic', prepacking: false });
    expect(() => forcedCompileOptions('{optimizationLevel:1}')).toThrow(/not JSON/);
    expect(() => forcedCompileOptions('["all"]')).toThrow(/JSON object/);
    expect(() => forcedCompileOptions('{"level":"all"}')).toThrow(/unknown option\(s\) level/);
  });

  it('lets options the caller sets win over a model\'s defaults, and ignores undefined ones', () => {
    const defaults = { optimizationLevel: 'all' as const, prepacking: true };
    expect(withDefaults(defaults, {})).toEqual(defaults);
    expect(withDefaults(defaults, { optimizationLevel: 'basic', prepacking: undefined })).toEqual({ optimizationLevel: 'basic', prepacking: true });
  });
});
