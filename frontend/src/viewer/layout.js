/**
 * Which panes a case gets, and their DOM.
 *
 * CT: the axial stack beside sagittal and coronal reformats (volume viewports over the same
 * images); without WebGL, the sagittal series derived on the server (role "sagittal") instead,
 * and no coronal view.
 * MRI: sagittal T1W and T2W side by side, then a site's STIR and DWI, scrolling linked.
 */
import { el } from '../lib/dom.js';

// The MRI series shown, in order, when a case has them (the server sends them in this order).
const MRI_ROLES = ['t1w', 't2w', 'stir', 'dwi'];

export function seriesByRole(payload, role) {
  return (payload.series || []).find((s) => s.role === role) || null;
}

export const NO_REFORMAT_MESSAGE =
  'A sagittal reformat needs WebGL, which this browser does not offer, and this case has no ' +
  'sagittal series made by the server. Read the axial images, or use another browser.';

/** What each pane shows, decided from the modality, the series and whether volumes render. */
export function planLayout(payload, { volumes }) {
  const series = payload.series || [];
  if (!series.length) {
    throw new Error('This case has no images to show.');
  }
  if (payload.modality === 'CT') {
    const axial = seriesByRole(payload, 'axial') || series[0];
    const sagittal = seriesByRole(payload, 'sagittal');
    let others;
    if (volumes) {
      others = [
        { id: 'sagittal', label: 'Sagittal reformat', kind: 'reformat', orientation: 'sagittal', series: axial },
        { id: 'coronal', label: 'Coronal reformat', kind: 'reformat', orientation: 'coronal', series: axial },
      ];
    } else if (sagittal) {
      others = [{ id: 'sagittal', label: sagittal.label || 'Sagittal', kind: 'stack', series: sagittal }];
    } else {
      others = [{ id: 'sagittal', label: 'Sagittal', kind: 'unavailable', reason: NO_REFORMAT_MESSAGE }];
    }
    return {
      panes: [{ id: 'axial', label: axial.label || 'Axial', kind: 'stack', series: axial }, ...others],
      linkScroll: false,
      linkVoi: true,
      referenceLines: true,
    };
  }
  const known = MRI_ROLES.map((role) => seriesByRole(payload, role)).filter(Boolean);
  const chosen = known.length ? known : series;
  return {
    panes: chosen.map((s, i) => ({
      id: s.role || `series-${i + 1}`,
      label: s.label || s.role || `Series ${i + 1}`,
      kind: 'stack',
      series: s,
    })),
    linkScroll: chosen.length > 1,
    linkVoi: false,
    referenceLines: false,
  };
}

/** Builds a pane in `container`: a header (label, slice number), the viewport, an overlay. */
export function buildPane(container, pane) {
  const element = el('div', { class: 'viewport-element', dataset: { viewport: pane.id } });
  const sliceLabel = el('span', { class: 'pane-slice' });
  const overlay = el('p', { class: 'pane-overlay', hidden: true });
  const paneElement = el('section', { class: 'pane', dataset: { pane: pane.id }, 'aria-label': pane.label }, [
    el('header', { class: 'pane-header' }, [el('h2', { class: 'pane-label', text: pane.label }), sliceLabel]),
    el('div', { class: 'pane-body' }, [element, overlay]),
  ]);
  // The right button zooms: no context menu over the images.
  element.addEventListener('contextmenu', (evt) => evt.preventDefault());
  container.append(paneElement);
  return {
    paneElement,
    element,
    sliceLabel,
    /** Shows `text` over the viewport (null hides it). */
    setOverlay(text) {
      overlay.hidden = !text;
      overlay.textContent = text || '';
    },
  };
}

export function updateSliceLabel(viewport, label) {
  const count = viewport?.getNumberOfSlices?.() ?? 0;
  if (!count) return;
  label.textContent = `${viewport.getSliceIndex() + 1} / ${count}`;
}
