/** The format scanners' shared helpers moved down to src/formats/common.ts (the format folders use them too). */
export * from '../../formats/common.js';
