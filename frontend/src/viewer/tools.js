/**
 * Mouse tools for all viewports of a case (one tool group). Left drag is the selected tool
 * (window/level by default), middle drag pans, right drag zooms, the wheel scrolls.
 *
 * Reference lines: the viewport the reader works in is the source, and the others show its
 * plane (scrolling the axial stack moves a line across the sagittal reformat, and back).
 */
import {
  AngleTool,
  CobbAngleTool,
  EllipticalROITool,
  Enums as ToolEnums,
  LengthTool,
  PanTool,
  ReferenceLinesTool,
  StackScrollTool,
  ToolGroupManager,
  WindowLevelTool,
  ZoomTool,
  addTool,
} from '@cornerstonejs/tools';

import { HounsfieldProbeTool } from './probe.js';

const { MouseBindings } = ToolEnums;
const GROUP_ID = 'reading-room-tools';

export const PRIMARY_TOOLS = {
  windowLevel: WindowLevelTool.toolName,
  pan: PanTool.toolName,
  zoom: ZoomTool.toolName,
  length: LengthTool.toolName,
  angle: AngleTool.toolName,
  cobbAngle: CobbAngleTool.toolName,
  probe: HounsfieldProbeTool.toolName,
  ellipticalRoi: EllipticalROITool.toolName,
};
// Annotations: drawn with the left button when selected, and still shown and editable after.
const ANNOTATIONS = [
  LengthTool.toolName, AngleTool.toolName, CobbAngleTool.toolName, HounsfieldProbeTool.toolName, EllipticalROITool.toolName,
];

let registered = false;

function registerTools() {
  if (registered) return;
  for (const tool of [
    WindowLevelTool, PanTool, ZoomTool, StackScrollTool, ReferenceLinesTool,
    LengthTool, AngleTool, CobbAngleTool, HounsfieldProbeTool, EllipticalROITool,
  ]) {
    addTool(tool);
  }
  registered = true;
}

/** Creates the tool group for `viewportIds`; `referenceLines` shows each one's plane in the others. */
export function createTools(renderingEngineId, viewportIds, { referenceLines = false } = {}) {
  registerTools();
  const group = ToolGroupManager.createToolGroup(GROUP_ID);
  for (const name of Object.values(PRIMARY_TOOLS)) {
    // Dragging up magnifies, as in common viewers (Cornerstone's default is the other way).
    group.addTool(name, name === ZoomTool.toolName ? { invert: true } : undefined);
  }
  group.addTool(StackScrollTool.toolName);
  group.setToolActive(WindowLevelTool.toolName, { bindings: [{ mouseButton: MouseBindings.Primary }] });
  group.setToolActive(PanTool.toolName, { bindings: [{ mouseButton: MouseBindings.Auxiliary }] });
  group.setToolActive(ZoomTool.toolName, { bindings: [{ mouseButton: MouseBindings.Secondary }] });
  group.setToolActive(StackScrollTool.toolName, { bindings: [{ mouseButton: MouseBindings.Wheel }] });
  // Drawn measurements stay visible and editable when another tool is selected.
  for (const name of ANNOTATIONS) group.setToolPassive(name);
  if (referenceLines && viewportIds.length > 1) {
    group.addTool(ReferenceLinesTool.toolName, { sourceViewportId: viewportIds[0] });
    group.setToolEnabled(ReferenceLinesTool.toolName);
  }
  // The viewports join once the tools' modes are set: each mode change renders every viewport of
  // the group, and before the first image that is three renders of empty viewports (about 0.07 s
  // with software WebGL) in front of it.
  for (const viewportId of viewportIds) group.addViewport(viewportId, renderingEngineId);

  return {
    group,
    /** Binds the left button to one of PRIMARY_TOOLS. */
    selectPrimary(key) {
      const selected = PRIMARY_TOOLS[key];
      if (!selected) throw new Error(`Unknown tool "${key}".`);
      // Passive drops only the left-button binding: pan stays on the middle button and zoom
      // on the right.
      for (const name of Object.values(PRIMARY_TOOLS)) {
        if (name !== selected) group.setToolPassive(name);
      }
      group.setToolActive(selected, { bindings: [{ mouseButton: MouseBindings.Primary }] });
    },
    /** Leaves the left button to the page (the crosshairs, which are not a Cornerstone tool here). */
    clearPrimary() {
      for (const name of Object.values(PRIMARY_TOOLS)) group.setToolPassive(name);
    },
    /** Makes `viewportId` the source of the reference lines shown in the other viewports. */
    setReferenceSource(viewportId) {
      if (!referenceLines || viewportIds.length < 2) return;
      if (group.getToolConfiguration(ReferenceLinesTool.toolName, 'sourceViewportId') === viewportId) return;
      group.setToolConfiguration(ReferenceLinesTool.toolName, { sourceViewportId: viewportId });
    },
    /** Redraws the reference lines once the viewports hold images. */
    refreshReferenceLines() {
      if (!referenceLines || viewportIds.length < 2) return;
      const source = group.getToolConfiguration(ReferenceLinesTool.toolName, 'sourceViewportId');
      group.setToolConfiguration(ReferenceLinesTool.toolName, { sourceViewportId: source });
    },
    destroy() {
      ToolGroupManager.destroyToolGroup(GROUP_ID);
    },
  };
}
