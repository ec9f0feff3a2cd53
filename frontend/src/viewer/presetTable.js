/**
 * The window presets as data, without Cornerstone: the reading page's toolbar and keys need
 * them before the viewer's code arrives. Importing them from presets.js (which imports
 * `@cornerstonejs/core`) put the whole rendering core into the page's entry chunk, which the
 * browser had to load and run before the page could even start fetching the case's images.
 *
 * CT values are Hounsfield units (width/level); MRI has no absolute scale, so its "preset" is
 * the automatic window from the image (its DICOM window or its range).
 */
export const CT_PRESETS = {
  bone: { label: 'Bone', width: 1800, level: 400 },
  soft: { label: 'Soft tissue', width: 400, level: 40 },
};
