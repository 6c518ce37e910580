// Typed, validated reading of a model's config.json. Field names keep the JSON's spelling
// (DESIGN.md naming contract). A wrong field fails at load time with the file, the field, the
// value found and what was expected — never later as a shape error deep inside a graph.

import { fmtValue, LatentlabError } from '../core/errors.js';

export type RawConfig = Readonly<Record<string, unknown>>;

export class ConfigReader {
  constructor(
    readonly raw: RawConfig,
    /** Path of the config file, for messages. */
    readonly file: string,
  ) {}

  private fail(name: string, expected: string): never {
    throw new LatentlabError('CONFIG_FIELD', `${this.file}: "${name}" is ${fmtValue(this.raw[name])}; expected ${expected}`, {
      file: this.file,
      key: name,
      hint: 'fix the config file, or check that the folder holds the model you meant (compare with the model\'s original config.json)',
    });
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  int(name: string, dflt?: number, min = 0): number {
    const v = this.has(name) ? this.raw[name] : dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) this.fail(name, `an integer >= ${min}`);
    return v;
  }

  /** A number; `positive`: a finite number > 0 (a value that divides or scales, such as scaling_factor). */
  number(name: string, dflt?: number, o: { positive?: boolean } = {}): number {
    const v = this.has(name) ? this.raw[name] : dflt;
    if (typeof v !== 'number' || Number.isNaN(v)) this.fail(name, 'a number');
    if (o.positive && !(v > 0 && Number.isFinite(v))) this.fail(name, 'a finite number > 0');
    return v;
  }

  bool(name: string, dflt?: boolean): boolean {
    const v = this.has(name) ? this.raw[name] : dflt;
    if (typeof v !== 'boolean') this.fail(name, 'true or false');
    return v;
  }

  string<T extends string>(name: string, allowed?: readonly T[], dflt?: T): T {
    const v = this.has(name) ? this.raw[name] : dflt;
    if (typeof v !== 'string' || (allowed && !allowed.includes(v as T))) this.fail(name, allowed ? `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}` : 'a string');
    return v as T;
  }

  intList(name: string, dflt?: readonly number[]): number[] {
    const v = this.has(name) ? this.raw[name] : dflt;
    if (!Array.isArray(v) || v.length === 0 || !v.every((x) => Number.isInteger(x) && x > 0)) this.fail(name, 'a non-empty list of positive integers');
    return [...(v as number[])];
  }

  stringList(name: string, allowed: readonly string[], dflt?: readonly string[]): string[] {
    const v = this.has(name) ? this.raw[name] : dflt;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && allowed.includes(x))) {
      this.fail(name, `a list of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    }
    return [...(v as string[])];
  }

  /** An int, or a list of ints with one entry per block (`attention_head_dim: 8` or `[5, 10, 20, 20]`). */
  intOrList(name: string, length: number, dflt?: number | readonly number[]): number[] {
    const v = this.has(name) ? this.raw[name] : dflt;
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return Array<number>(length).fill(v);
    if (Array.isArray(v) && v.length === length && v.every((x) => Number.isInteger(x) && x > 0)) return [...v];
    this.fail(name, `a positive integer or a list of ${length} positive integers`);
  }

  /** A field that latentlab does not support unless it has its default value. */
  unsupported(name: string, allowed: readonly unknown[]): void {
    const v = this.raw[name] ?? null;
    if (!allowed.some((a) => a === v)) {
      throw new LatentlabError('CONFIG_UNSUPPORTED', `${this.file}: "${name}" = ${fmtValue(v)} is not supported yet (supported: ${allowed.map((a) => fmtValue(a)).join(', ')})`, {
        file: this.file,
        key: name,
        hint: 'latentlab supports Stable Diffusion 1.x and 2.x architectures; open an issue with the model id if you need this one',
      });
    }
  }
}
