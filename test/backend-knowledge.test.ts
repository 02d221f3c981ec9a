/** The knowledge conformance suite (test/conformance/knowledge.ts) on the embedded backend. */
import { freshEmbeddedStore, knowledgeConformance } from './conformance/knowledge.js';

knowledgeConformance('embedded', freshEmbeddedStore);
