/**
 * Bounds of every input (schemas.ts), in a module of their own so that code which only needs the
 * numbers (the fast staging path) does not load the schema library. They keep a hostile file
 * from blowing up memory or the index: strings are capped, maps and tag lists are bounded,
 * metadata is capped by its serialised size.
 */
export const LIMITS = {
  shortText: 512,
  longText: 16_384,
  mapEntries: 256,
  tags: 64,
  tagLength: 128,
  recordBytes: 65_536,
  /** levels of nested arrays and objects in a record, the record itself being level 1 (JSON.stringify recurses) */
  depth: 64,
  /** bytes an .npz (every member together) may inflate to: 1 GiB, e.g. 800,000 300-d float32 vectors */
  npzInflatedBytes: 1024 * 1024 * 1024,
} as const;
