import { SoftlogicError } from '../../core/errors.js';
import { createProvider, type EmbeddingProvider } from '../../embeddings/index.js';
import type { VectorBackend, VectorSettings } from '../../backend/vector-table.js';

/**
 * Per-context embedding settings (provider + dimension), kept by the backend's vector table
 * (embedded: in the context's metadata.json, DESIGN.md). A context without its own settings uses
 * its nearest ancestor's. Once a context has settings they never change: vectors of another
 * provider or dimension are refused.
 *
 * Providers: `glove` and `hash` embed names; `imported` means the vectors came from an NPZ file
 * (their dimension is recorded) and concepts can only get vectors by another import.
 */
export type ProviderName = VectorSettings['provider'];

export type EmbeddingSettings = VectorSettings;

export const DEFAULT_PROVIDER: ProviderName = 'glove';
const GLOVE_DIMENSION = 100;
const HASH_DIMENSION = 100;

export function parseProviderName(name: string): ProviderName {
  if (name === 'glove' || name === 'hash' || name === 'imported') return name;
  throw new SoftlogicError('INVALID_INPUT', `unknown embedding provider ${JSON.stringify(name)} (glove or hash)`, { field: 'provider' });
}

/** The settings in force in a context: its own, else its nearest ancestor's. */
export async function effectiveSettings(backend: VectorBackend, context: string): Promise<(EmbeddingSettings & { from: string }) | undefined> {
  for (const row of await backend.contexts.chain(context)) {
    const s = await backend.vectors.settings(row.name);
    if (s) return { ...s, from: row.name };
  }
  return undefined;
}

function defaultDimension(provider: ProviderName): number {
  return provider === 'hash' ? HASH_DIMENSION : GLOVE_DIMENSION;
}

/**
 * The settings a write into `context` must use: the ones in force, checked against what the
 * caller asks for; recorded in the context when it has none. `requested.dimension` is the
 * dimension of vectors the caller brings (an import).
 */
export async function settingsForWrite(backend: VectorBackend, context: string, requested: { provider?: ProviderName; dimension?: number }): Promise<EmbeddingSettings> {
  await backend.contexts.ensure(context);
  const current = await effectiveSettings(backend, context);
  if (current) {
    if (requested.dimension !== undefined && requested.dimension !== current.dimension) {
      throw new SoftlogicError(
        'DIMENSION_MISMATCH',
        `context '${context}' holds ${current.dimension}-d vectors (${current.provider}, recorded in '${current.from}'); ${requested.dimension}-d vectors cannot be mixed in`,
        { context, expected: current.dimension, actual: requested.dimension, provider: current.provider },
      );
    }
    if (requested.provider !== undefined && requested.provider !== 'imported' && requested.provider !== current.provider) {
      const dim = defaultDimension(requested.provider);
      const code = dim !== current.dimension ? 'DIMENSION_MISMATCH' : 'CONFLICT';
      throw new SoftlogicError(
        code,
        `context '${context}' uses the ${current.provider} provider (${current.dimension}-d, recorded in '${current.from}'); vectors of provider ${requested.provider} cannot be mixed in`,
        { context, provider: current.provider, requested: requested.provider, dimension: current.dimension },
      );
    }
    return { provider: current.provider, dimension: current.dimension };
  }
  const provider = requested.provider ?? (requested.dimension !== undefined && requested.dimension !== GLOVE_DIMENSION ? 'imported' : DEFAULT_PROVIDER);
  const dimension = requested.dimension ?? defaultDimension(provider);
  if (requested.dimension !== undefined && provider !== 'imported' && requested.dimension !== defaultDimension(provider)) {
    throw new SoftlogicError('DIMENSION_MISMATCH', `provider ${provider} yields ${defaultDimension(provider)}-d vectors, not ${requested.dimension}-d`, {
      provider,
      expected: defaultDimension(provider),
      actual: requested.dimension,
    });
  }
  // Recorded unless another process was first; what is in force afterwards is checked again.
  const recorded = await backend.vectors.recordSettings(context, { provider, dimension });
  if (recorded.provider !== provider || recorded.dimension !== dimension) return settingsForWrite(backend, context, requested);
  return recorded;
}

/** The provider that embeds names for these settings. */
export function providerFor(settings: EmbeddingSettings): EmbeddingProvider {
  if (settings.provider === 'imported') {
    throw new SoftlogicError('INVALID_INPUT', `this context holds imported ${settings.dimension}-d vectors: names cannot be embedded here; give vectors by 'embeddings import'`, {
      provider: settings.provider,
    });
  }
  return createProvider({ name: settings.provider, dimension: settings.dimension });
}
