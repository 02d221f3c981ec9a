/**
 * Provider selection by name, as recorded per context. A recorded dimension that the provider
 * cannot produce is refused here, before any vector of the wrong size reaches a store.
 */
import { SoftlogicError } from '../core/errors.js';
import type { EmbeddingProvider } from './provider.js';
import { HashProvider } from './hash-provider.js';
import { GloveProvider } from './glove-provider.js';

export interface ProviderSpec {
  name: string;
  /** Required dimension (e.g. the one recorded for a context); hash honours it, glove is 100-d. */
  dimension?: number;
  /** Cache directory for the GloVe binary cache. */
  cacheDir?: string;
}

export const PROVIDER_NAMES = ['glove', 'hash'] as const;

let sharedGlove: { cacheDir: string | undefined; provider: GloveProvider } | undefined;

/** GloVe is ~140 MB in memory, so one instance per process and cache dir is shared. */
function glove(cacheDir: string | undefined): GloveProvider {
  if (!sharedGlove || sharedGlove.cacheDir !== cacheDir) {
    sharedGlove = { cacheDir, provider: GloveProvider.open(cacheDir ? { cacheDir } : {}) };
  }
  return sharedGlove.provider;
}

export function createProvider(spec: ProviderSpec): EmbeddingProvider {
  let provider: EmbeddingProvider;
  if (spec.name === 'hash') provider = new HashProvider(spec.dimension === undefined ? {} : { dimension: spec.dimension });
  else if (spec.name === 'glove') provider = glove(spec.cacheDir);
  else throw new SoftlogicError('INVALID_INPUT', `unknown embedding provider ${JSON.stringify(spec.name)} (glove or hash)`);
  if (spec.dimension !== undefined && spec.dimension !== provider.dimension) {
    throw new SoftlogicError('DIMENSION_MISMATCH', `provider ${spec.name} yields ${provider.dimension}-d vectors, ${spec.dimension}-d were required`, {
      provider: spec.name,
      expected: spec.dimension,
      actual: provider.dimension,
    });
  }
  return provider;
}
