import { Enums, metaData } from '@cornerstonejs/core';

import { CT_PRESETS } from './presetTable.js';

export { CT_PRESETS };

const { MetadataModules } = Enums;

export function voiRangeFor({ width, level }) {
  return { lower: level - width / 2, upper: level + width / 2 };
}

export function presetsFor(modality) {
  return modality === 'CT' ? Object.keys(CT_PRESETS) : ['auto'];
}

/** The preset a case opens with: bone for CT (the question is about bone), automatic for MRI. */
export function defaultPresetFor(modality) {
  return modality === 'CT' ? 'bone' : 'auto';
}

/** Applies `preset` to every viewport in `viewports` (stack or volume) and renders them. */
export function applyPreset(viewports, preset) {
  for (const viewport of viewports) {
    if (preset === 'auto') {
      viewport.resetProperties();
    } else {
      const range = voiRangeFor(CT_PRESETS[preset]);
      viewport.setProperties({ voiRange: range });
    }
    viewport.render();
  }
}

let askingOthers = false;
const present = (value) => (Array.isArray(value) ? value.length > 0 : value != null);

/**
 * A metadata provider (registered ahead of the image loader's) that gives a CT image without a
 * DICOM window the reading room's default window. Without one, Cornerstone computes a volume's
 * first window from its middle slice, which it fetches again, bypassing the cache, behind every
 * frame already queued: the sagittal reformat would appear only once the whole series had
 * arrived. The viewer applies its own preset right after, so nothing else changes.
 */
export function ctDefaultWindowProvider(type, imageId) {
  if (type !== MetadataModules.VOI_LUT || askingOthers) return undefined;
  askingOthers = true;
  try {
    const own = metaData.get(type, imageId);
    if (present(own?.windowWidth) && present(own?.windowCenter)) return undefined; // its own window
    if (metaData.get(MetadataModules.GENERAL_SERIES, imageId)?.modality !== 'CT') return undefined;
    const { width, level } = CT_PRESETS[defaultPresetFor('CT')];
    return { ...own, windowWidth: [width], windowCenter: [level] };
  } finally {
    askingOthers = false;
  }
}
