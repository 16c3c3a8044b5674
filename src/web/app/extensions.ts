import type { CardContext, CardSection, PageTool } from './state.js';
import { convertSection } from './convert-section.js';

/**
 * The parts of the page beyond inspecting: sections of each model's card, the page's tools, and what
 * a tensor's "Values" button shows. One line each; each part is its own file.
 */
export const CARD_SECTIONS: readonly CardSection[] = [convertSection];

export const PAGE_TOOLS: readonly PageTool[] = [];

/** Shows a tensor's values (statistics and histogram) in the card's detail area; undefined hides the buttons. */
export const SHOW_TENSOR_VALUES: ((context: CardContext, index: number) => void) | undefined = undefined;
