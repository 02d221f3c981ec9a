import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftlogicError } from '../src/core/errors.js';
import { findCrossDomainAnalogies, relationAlignment, suggestTarget, type DomainField } from '../src/reasoning/cross-domain.js';
import { createRng } from '../src/reasoning/random.js';

/**
 * Two fields sharing relational structure: royalty and business members are a domain direction
 * plus gender (male/female) plus rank (high/low), with noise. The right mapping keeps gender and rank.
 */
function fields(noise = 0.15) {
  const dim = 40;
  const rng = createRng(11);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const dir = () => Array.from({ length: dim }, gauss);
  const royalty = dir();
  const business = dir();
  const male = dir();
  const female = dir();
  const high = dir();
  const low = dir();
  const make = (base: number[], g: number[], r: number[]) => base.map((b, i) => b + 0.8 * g[i] + 0.8 * r[i] + noise * gauss());
  const source: DomainField = {
    name: 'royalty',
    members: [
      { id: 'king', vector: make(royalty, male, high) },
      { id: 'queen', vector: make(royalty, female, high) },
      { id: 'prince', vector: make(royalty, male, low) },
      { id: 'princess', vector: make(royalty, female, low) },
    ],
  };
  const target: DomainField = {
    name: 'business',
    members: [
      { id: 'ceo', vector: make(business, male, high) },
      { id: 'chairwoman', vector: make(business, female, high) },
      { id: 'trainee', vector: make(business, male, low) },
      { id: 'trainee_f', vector: make(business, female, low) },
    ],
  };
  return { source, target };
}

test('relation alignment is the cosine of the difference vectors', () => {
  assert.equal(relationAlignment([0, 0], [1, 0], [5, 5], [7, 5]), 1);
  assert.equal(relationAlignment([0, 0], [1, 0], [5, 5], [3, 5]), -1);
  assert.equal(relationAlignment([0, 0], [0, 0], [5, 5], [3, 5]), 0);
});

test('finds the structure-preserving mapping royalty -> business, best first', () => {
  const { source, target } = fields();
  const found = findCrossDomainAnalogies(source, target, { minQuality: 0.3 });
  assert.ok(found.length >= 1);
  const best = found[0];
  assert.equal(best.source_domain, 'royalty');
  assert.equal(best.target_domain, 'business');
  assert.deepEqual(best.concept_mappings, { king: 'ceo', queen: 'chairwoman', prince: 'trainee', princess: 'trainee_f' });
  assert.ok(best.quality_score > 0.5 && best.quality_score <= 1, String(best.quality_score));
  assert.ok(best.metadata.structural_score > best.metadata.semantic_score);
  assert.equal(best.metadata.relation_pairs, 6);
  for (let i = 1; i < found.length; i++) assert.ok(found[i - 1].quality_score >= found[i].quality_score);
  // Deterministic: the same input gives the same list.
  assert.deepEqual(findCrossDomainAnalogies(source, target, { minQuality: 0.3 }), found);
  // A high bar drops everything.
  assert.deepEqual(findCrossDomainAnalogies(source, target, { minQuality: 0.99 }), []);
});

test('suggestTarget answers "king -> ceo, queen -> ?"', () => {
  const { source, target } = fields();
  const [first] = suggestTarget(source, target, { king: 'ceo' }, 'queen');
  assert.equal(first[0], 'chairwoman');
  assert.throws(() => suggestTarget(source, target, { king: 'ceo' }, 'duke'), /not a member/);
});

test('degenerate and bad input', () => {
  const { source, target } = fields();
  assert.deepEqual(findCrossDomainAnalogies({ name: 'x', members: source.members.slice(0, 1) }, target), []);
  assert.deepEqual(findCrossDomainAnalogies({ name: 'x', members: [] }, { name: 'y', members: [] }), []);
  const bad = (fn: () => unknown, code: string) =>
    assert.throws(fn, (e: unknown) => e instanceof SoftlogicError && e.code === code);
  bad(() => findCrossDomainAnalogies(source, target, { minQuality: 2 }), 'INVALID_INPUT');
  bad(() => findCrossDomainAnalogies(source, target, { maxMembers: 1000 }), 'INVALID_INPUT');
  bad(
    () => findCrossDomainAnalogies(source, { name: 'short', members: [{ id: 'a', vector: [1, 2] }, { id: 'b', vector: [2, 1] }] }),
    'DIMENSION_MISMATCH',
  );
});
