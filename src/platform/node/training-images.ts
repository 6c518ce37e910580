// The training pictures of a folder, prepared as diffusers' TextualInversionDataset does before its
// random flip: every image file (sorted by name, hidden files skipped), converted to RGB, center-
// cropped to a square if asked (`--center-crop`; off by default, as in the script — the resize then
// stretches), and resized to resolution² (the library's Lanczos resize; the script uses PIL's
// bicubic, so edges differ slightly).

import { LatentlabError } from '../../core/errors.js';
import { fileSystem } from '../../core/io.js';
import type { RgbImage } from '../../image/rgb-image.js';
import { readImage, resizeImage } from './image.js';

const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif', '.bmp'];

export interface TrainingImagesOptions {
  resolution: number;
  centerCrop?: boolean;
}

export async function readTrainingImages(dir: string, o: TrainingImagesOptions): Promise<{ files: string[]; images: RgbImage[] }> {
  const fs = fileSystem();
  if (!(await fs.stat(dir))?.isDirectory) {
    throw new LatentlabError('IO_NOT_FOUND', `${dir}: no such folder`, { file: dir, hint: 'pass the folder holding the concept\'s pictures (3–5 PNG or JPEG files)' });
  }
  const names = (await fs.list(dir)).filter((n) => !n.startsWith('.') && IMAGE_EXTENSIONS.some((e) => n.toLowerCase().endsWith(e))).sort();
  if (names.length === 0) {
    throw new LatentlabError('TRAIN_DATA', `${dir} holds no image files`, { file: dir, hint: `put the concept's pictures there (${IMAGE_EXTENSIONS.join(', ')})` });
  }
  const files = names.map((n) => fs.join(dir, n));
  const images: RgbImage[] = [];
  for (const file of files) {
    let image = await readImage(file);
    if (o.centerCrop) image = centerCrop(image);
    if (image.width !== o.resolution || image.height !== o.resolution) image = await resizeImage(image, o.resolution, o.resolution);
    images.push(image);
  }
  return { files, images };
}

/** img[(h − c)//2 : (h + c)//2, (w − c)//2 : (w + c)//2] with c = min(h, w). */
function centerCrop(image: RgbImage): RgbImage {
  const c = Math.min(image.width, image.height);
  const [top, left] = [Math.floor((image.height - c) / 2), Math.floor((image.width - c) / 2)];
  const data = new Uint8Array(c * c * 3);
  for (let y = 0; y < c; y++) data.set(image.data.subarray(((top + y) * image.width + left) * 3, ((top + y) * image.width + left + c) * 3), y * c * 3);
  return { width: c, height: c, data };
}
