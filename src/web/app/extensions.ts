import type { CardContext, CardSection, PageTool } from './state.js';
import { convertSection } from './convert-section.js';
// web-tools
import { compareTool } from './compare-tool.js';
import { hashTool } from './hash-tool.js';
import { signTool } from './sign-tool.js';
import { signatureTool } from './signature-tool.js';
import { showTensorValues } from './tensor-values.js';

/**
 * The parts of the page beyond inspecting: sections of each model's card, the page's tools, and what
 * a tensor's "Values" button shows. One line each; each part is its own file.
 */
export const CARD_SECTIONS: readonly CardSection[] = [convertSection];

export const PAGE_TOOLS: readonly PageTool[] = [
  // web-tools
  compareTool,
  hashTool,
  signTool,
  signatureTool,
];

/** Shows a tensor's values (statistics and histogram) in the card's detail area; undefined hides the buttons. */
export const SHOW_TENSOR_VALUES: ((context: CardContext, index: number) => void) | undefined = showTensorValues;
