/**
 * Where the model looked, drawn over the viewer's own images: for every displayed viewport an
 * overlay canvas (it takes no mouse events, so the tools work through it) repainted at the
 * viewport's own resolution whenever Cornerstone renders a new slice, zoom or pan.
 */
import { infernoTable } from './colourScale.js';
import { decodeHeat, paintPlane } from './heatVolume.js';

const IMAGE_RENDERED = 'CORNERSTONE_IMAGE_RENDERED'; // @cornerstonejs/core Enums.Events.IMAGE_RENDERED

export async function attachSaliencyOverlay(viewer, volume) {
  const bytes = await decodeHeat(volume);
  const table = infernoTable();
  let visible = true;
  const overlays = [];
  for (const id of viewer.panes) {
    const viewport = viewer.viewport(id);
    const element = viewport?.element;
    if (!element) continue;
    const canvas = document.createElement('canvas');
    canvas.className = 'saliency-overlay';
    canvas.dataset.saliencyPane = id;
    element.append(canvas);
    const overlay = { id, viewport, element, canvas, painted: 0 };
    const repaint = () => paint(overlay);
    element.addEventListener(IMAGE_RENDERED, repaint);
    overlay.detach = () => element.removeEventListener(IMAGE_RENDERED, repaint);
    overlays.push(overlay);
  }

  function paint(overlay) {
    const { viewport, element, canvas } = overlay;
    const width = element.clientWidth;
    const height = element.clientHeight;
    if (!width || !height || !visible) return;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const context = canvas.getContext('2d');
    const image = context.createImageData(width, height);
    const plane = [viewport.canvasToWorld([0, 0]), viewport.canvasToWorld([1, 0]), viewport.canvasToWorld([0, 1])];
    overlay.painted = paintPlane(volume, bytes, table, image.data, width, height, plane);
    context.putImageData(image, 0, 0);
    canvas.dataset.painted = String(overlay.painted);
  }

  for (const overlay of overlays) paint(overlay);
  return {
    get visible() {
      return visible;
    },
    setVisible(value) {
      visible = Boolean(value);
      for (const overlay of overlays) {
        overlay.canvas.hidden = !visible;
        if (visible) paint(overlay);
      }
    },
    /** Pixels with heat per pane, for tests. */
    painted() {
      return Object.fromEntries(overlays.map((o) => [o.id, o.painted]));
    },
    destroy() {
      for (const overlay of overlays) {
        overlay.detach();
        overlay.canvas.remove();
      }
    },
  };
}
