// generate --preview DIR: after every step, the scheduler's estimate of the finished image.
//
// At step t the scheduler forms x̂₀ — "the clean latents, if the predicted noise were exactly right"
// (`predOriginalSample`). Decoding it with the pipeline's VAE shows what the model is aiming at:
// blurry and average early, sharp at the end. DIR/step-01.png is after the first step; a batch is
// laid out side by side in one picture. Schedulers that never form x̂₀ (PNDM, UniPC, DEIS) get a
// one-time notice instead of pictures.

import { mkdir, readdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { encodePng, imageGrid, LatentlabError, type RgbImage, type StepInfo, type Tensor } from '../node.js';
import type { WrittenFile } from './generation.js';
import { checkWritable, type Target, writeTarget } from './outputs.js';
import type { Session } from './session.js';

export class Previewer {
  readonly written: WrittenFile[] = [];

  private constructor(
    private readonly dir: string,
    private readonly overwrite: boolean,
    private readonly session: Session,
    private missing: boolean,
  ) {}

  /**
   * Checks DIR before any compute: it may be missing if its parent exists (it is then created with
   * the first picture, so a failed run leaves no empty folder); old step-*.png only with --overwrite.
   */
  static async create(dir: string, overwrite: boolean, session: Session): Promise<Previewer> {
    const st = await stat(dir).catch(() => undefined);
    if (st && !st.isDirectory()) {
      throw new LatentlabError('IO_NO_FOLDER', `--preview ${dir}: exists and is not a folder`, { file: dir, hint: 'give a folder for the preview pictures' });
    }
    if (!st) {
      const parent = dirname(resolve(dir));
      if (!(await stat(parent).catch(() => undefined))?.isDirectory()) {
        throw new LatentlabError('IO_NO_FOLDER', `--preview ${dir}: the folder ${parent} does not exist`, {
          file: dir, hint: `create it first (mkdir -p ${JSON.stringify(resolve(dir))}) or choose another preview folder`,
        });
      }
      await checkWritable('--preview', parent);
    } else if (!overwrite) {
      const old = (await readdir(dir)).filter((n) => /^step-\d+\.png$/.test(n));
      if (old.length > 0) {
        throw new LatentlabError('CLI_OUTPUT_EXISTS', `--preview ${dir}: the folder already holds previews (${old.slice(0, 3).join(', ')}${old.length > 3 ? ', …' : ''})`, {
          file: dir, hint: 'pass --overwrite to replace them, or choose an empty folder',
        });
      }
    }
    if (st) await checkWritable('--preview', resolve(dir));
    return new Previewer(dir, overwrite, session, !st);
  }

  async step(info: StepInfo, decode: (latents: Tensor<'float32'>) => Promise<RgbImage[]>): Promise<void> {
    if (!info.predOriginalSample) {
      this.session.warnOnce('this scheduler does not form a predicted clean image (predOriginalSample) at its steps, so --preview writes no pictures; try --scheduler euler, lms, ddim or dpm++2m');
      return;
    }
    const images = await decode(info.predOriginalSample);
    if (this.missing) await mkdir(this.dir);
    this.missing = false;
    const picture = images.length === 1 ? images[0] : imageGrid(images, { columns: images.length, gap: 4, background: [255, 255, 255] }).image;
    const digits = Math.max(2, String(info.numSteps).length);
    const target: Target = { path: join(this.dir, `step-${String(info.step + 1).padStart(digits, '0')}.png`), policy: this.overwrite ? 'overwrite' : 'new' };
    const text = { Comment: `latentlab preview: predicted clean image (predOriginalSample) after step ${info.step + 1} of ${info.numSteps}, timestep ${info.timestep}` };
    this.written.push({ path: await writeTarget(target, await encodePng(picture, { text })), kind: 'preview', step: info.step + 1 });
  }
}
