// Putting latentlab's pictures on the page: RgbImage → <canvas>, SVG strings (made by
// latentlab's own plot and heat-map functions, which escape their text) → a container.

import type { RgbImage } from 'latentlab/web';

export function $(id: string): HTMLElement {
  const el = document.getElementById(id);
  if (!el) throw new Error(`explorer: no element #${id} in index.html`);
  return el;
}

export function input(id: string): HTMLInputElement {
  return $(id) as HTMLInputElement;
}

/** Draws an RGB image into a canvas at its own size (CSS scales it, pixelated). */
export function drawImage(canvasId: string, image: RgbImage): void {
  const canvas = $(canvasId) as HTMLCanvasElement;
  canvas.width = image.width;
  canvas.height = image.height;
  const rgba = new Uint8ClampedArray(image.width * image.height * 4);
  for (let i = 0, j = 0; j < image.data.length; i += 4, j += 3) {
    rgba[i] = image.data[j];
    rgba[i + 1] = image.data[j + 1];
    rgba[i + 2] = image.data[j + 2];
    rgba[i + 3] = 255;
  }
  canvas.getContext('2d')!.putImageData(new ImageData(rgba, image.width, image.height), 0, 0);
}

export function showSvg(containerId: string, svg: string): void {
  $(containerId).innerHTML = svg;
}

/** Replaces a table body's rows with text cells (textContent: no markup from data). */
export function fillTable(tbodyId: string, rows: readonly (readonly (string | number)[])[]): void {
  const body = $(tbodyId);
  body.replaceChildren(...rows.map((cells) => {
    const tr = document.createElement('tr');
    for (const c of cells) {
      const td = document.createElement('td');
      td.textContent = String(c);
      tr.append(td);
    }
    return tr;
  }));
}

export function setStatus(text: string, state: 'busy' | 'ready' | 'error' = 'ready'): void {
  const el = $('status');
  el.textContent = text;
  el.dataset.state = state;
}
