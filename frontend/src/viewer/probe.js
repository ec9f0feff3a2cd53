/**
 * The probe: the value under a point, in HU on CT.
 *
 * Cornerstone 5.14's ProbeTool finds no value on a stack whose images also stream into a
 * volume (the axial stack beside the sagittal reformat): it looks the slice index up in the
 * first viewport showing the image, which may be the reformat, and reads a slice the stack's
 * single-image data does not have. This probe reads the stack's current image at the point
 * itself when the tool found nothing.
 */
import { utilities as csUtils } from '@cornerstonejs/core';
import { ProbeTool } from '@cornerstonejs/tools';

export class HounsfieldProbeTool extends ProbeTool {
  static toolName = 'HounsfieldProbe';

  _calculateCachedStats(annotation, renderingEngine, enabledElement, changeType) {
    const cachedStats = super._calculateCachedStats(annotation, renderingEngine, enabledElement, changeType);
    const { viewport } = enabledElement;
    const point = annotation.data.handles.points[0];
    for (const [targetId, stats] of Object.entries(cachedStats || {})) {
      if (stats.value !== undefined || !targetId.startsWith('imageId:')) continue;
      if (viewport.getCurrentImageId?.() !== targetId.slice('imageId:'.length)) continue;
      const image = viewport.getImageData();
      if (!image?.imageData) continue;
      const [i, j] = csUtils.transformWorldToIndex(image.imageData, point).map(Math.round);
      const [width, height] = image.dimensions;
      if (i < 0 || j < 0 || i >= width || j >= height) continue;
      const value = image.voxelManager?.getAtIJK?.(i, j, 0);
      if (value === undefined) continue;
      cachedStats[targetId] = { ...stats, index: [i, j, viewport.getCurrentImageIdIndex()], value };
      annotation.invalidated = true;
    }
    return cachedStats;
  }
}
