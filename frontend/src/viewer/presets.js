/**
 * Window/level presets. CT values are Hounsfield units (width/level); MRI has no absolute scale,
 * so its "preset" is the automatic window from the image (its DICOM window or its range).
 */
export const CT_PRESETS = {
  bone: { label: 'Bone', width: 1800, level: 400 },
  soft: { label: 'Soft tissue', width: 400, level: 40 },
};

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
