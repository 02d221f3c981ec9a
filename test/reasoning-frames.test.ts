import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftlogicError } from '../src/core/errors.js';
import {
  effectiveElements,
  formatFromPath,
  parseFrame,
  parseFramesDocument,
  validateInstance,
  validateRelation,
  type Frame,
  type FrameInstance,
} from '../src/reasoning/frames.js';

const YAML_DOC = `
frames:
  - name: Transfer
    definition: A donor gives a theme to a recipient.
    core_elements:
      - name: Donor
        description: who gives
        type: Sentient
      - name: Recipient
        description: who receives
      - name: Theme
        description: what changes hands
        typical_fillers: [money, goods]
    peripheral_elements:
      - { name: Time, description: when }
    lexical_units: [give.v, transfer.v]
  - name: Commerce_buy
    definition: A buyer buys goods from a seller.
    inherits_from: [Transfer]
    core_elements:
      - { name: Money, description: what is paid }
relations:
  - { source: Commerce_buy, target: Transfer, type: Inherits From, element_mappings: { Money: Theme } }
instances:
  - instance_id: buy-1
    frame_name: Commerce_buy
    element_bindings: { Donor: "shop:seller", Recipient: "shop:alice", Theme: "shop:book", Money: "shop:ten_euros" }
    confidence: 0.9
    context: shop
`;

function invalid(fn: () => unknown, pattern: RegExp, code = 'INVALID_INPUT'): SoftlogicError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof SoftlogicError, `expected a SoftlogicError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.match(caught.message, pattern);
  return caught;
}

test('a YAML document with frames, relations and instances parses with defaults applied', () => {
  const doc = parseFramesDocument(YAML_DOC, 'yaml', 'shop.yaml');
  assert.equal(doc.frames.length, 2);
  const [transfer, buy] = doc.frames;
  assert.equal(transfer.core_elements[2].typical_fillers?.[1], 'goods');
  assert.deepEqual(buy.peripheral_elements, []);
  assert.deepEqual(buy.uses_frames, []);
  assert.deepEqual(buy.metadata, {});
  assert.equal(doc.relations[0].type, 'inheritance');
  assert.equal(doc.instances[0].confidence, 0.9);
  assert.equal(formatFromPath('x/Frames.YML'), 'yaml');
  assert.equal(formatFromPath('a.json'), 'json');
});

test('JSON: a single frame or a list; instances get an id when absent', () => {
  const one = parseFramesDocument('{"name": "Motion", "core_elements": [{"name": "Theme"}]}', 'auto');
  assert.equal(one.frames[0].name, 'Motion');
  assert.equal(one.frames[0].core_elements[0].description, '');
  const list = parseFramesDocument('[{"name": "A"}, {"name": "B"}]', 'json');
  assert.deepEqual(
    list.frames.map((f) => f.name),
    ['A', 'B'],
  );
  const inst = parseFramesDocument('{"instances": [{"frame_name": "A", "element_bindings": {}}]}');
  assert.match(inst.instances[0].instance_id, /^[0-9a-f-]{36}$/);
  assert.equal(inst.instances[0].context, 'default');
  assert.equal(inst.instances[0].confidence, 1);
});

test('bad frames files name the item, the field and the reason', () => {
  invalid(() => parseFramesDocument('[{"name": "A"}, {"name": "B", "core_elements": "Theme"}]'), /frames\[1\]\.core_elements: .*array/i);
  invalid(() => parseFramesDocument('[{"name": "A", "core_elements": [{"description": "x"}]}]'), /frames\[0\]\.core_elements\[0\]\.name/);
  invalid(() => parseFramesDocument('{"name": "A", "colour": "red"}'), /frames\[0\].*colour/);
  invalid(() => parseFramesDocument('{"name": "has space"}'), /frames\[0\]\.name: must be 1-128 characters/);
  invalid(
    () => parseFramesDocument('{"instances": [{"frame_name": "A", "element_bindings": {}, "confidence": "high"}]}'),
    /instances\[0\]\.confidence/,
  );
  invalid(
    () => parseFramesDocument('{"instances": [{"frame_name": "A", "element_bindings": {}, "confidence": 1.5}]}'),
    /instances\[0\]\.confidence/,
  );
  invalid(() => parseFramesDocument('{"relations": [{"source": "A", "target": "B", "type": "likes"}]}'), /relations\[0\]\.type: must be one of/);
  invalid(
    () => parseFramesDocument('{"name": "A", "core_elements": [{"name": "X"}], "peripheral_elements": [{"name": "X"}]}'),
    /peripheral_elements\[0\]\.name: duplicate element name "X"/,
  );
  invalid(() => parseFramesDocument('{"name": "A", "inherits_from": ["A"]}'), /cannot inherit from itself/);
  invalid(() => parseFramesDocument('[{"name": "A"}, {"name": "A"}]'), /frames\[1\]\.name: frame "A" is already defined by frames\[0\]/);
  invalid(() => parseFramesDocument('{"frames": [], "extras": 1}'), /unknown top-level field\(s\) extras/);
  invalid(() => parseFramesDocument('{"frames": {"name": "A"}}'), /frames: must be a list/);
  invalid(() => parseFramesDocument('42'), /expected a frame/);
  const err = invalid(() => parseFramesDocument('[{"name": "A", "core_elements": 5}]', 'json', 'f.json'), /^f\.json: /);
  assert.deepEqual((err.details.issues as { field: string }[])[0].field, 'core_elements');
  assert.equal(err.details.item, 'frames[0]');
});

test('malformed YAML and JSON, and empty files, are clear errors', () => {
  invalid(() => parseFramesDocument('frames:\n  - name: A\n    core_elements: [a, b\n  - x: :', 'yaml', 'bad.yaml'), /bad\.yaml: malformed YAML at line \d+, column \d+/);
  invalid(() => parseFramesDocument('{"name": "A",}', 'json'), /malformed JSON/);
  invalid(() => parseFramesDocument('', 'yaml'), /empty/, 'EMPTY_INPUT');
  invalid(() => parseFramesDocument('[]', 'json'), /holds no frames/, 'EMPTY_INPUT');
});

const doc = parseFramesDocument(YAML_DOC, 'yaml');
const frames = new Map(doc.frames.map((f) => [f.name, f]));
const lookup = (name: string): Frame | undefined => frames.get(name);
const concepts = new Map<string, 'active' | 'deleted'>([
  ['shop:seller', 'active'],
  ['shop:alice', 'active'],
  ['shop:book', 'active'],
  ['shop:ten_euros', 'active'],
  ['shop:old', 'deleted'],
]);
const conceptExists = (id: string) => concepts.get(id) ?? 'unknown';
const buy = frames.get('Commerce_buy') as Frame;
const instance = (bindings: Record<string, string>): FrameInstance => ({
  instance_id: 'i1',
  frame_name: 'Commerce_buy',
  element_bindings: bindings,
  confidence: 1,
  context: 'shop',
});

test('a valid instance passes, with inherited core elements bound', () => {
  assert.equal(validateInstance(buy, doc.instances[0], conceptExists, lookup), doc.instances[0]);
  const eff = effectiveElements(buy, lookup);
  assert.deepEqual([...eff.core.keys()].sort(), ['Donor', 'Money', 'Recipient', 'Theme']);
  assert.equal(eff.core.get('Donor'), 'Transfer');
  assert.deepEqual([...eff.peripheral.keys()], ['Time']);
  // A boolean concept check is enough.
  validateInstance(buy, doc.instances[0], (id) => concepts.get(id) === 'active', lookup);
});

test('unknown element, unknown or deleted concept, missing core element are refused', () => {
  const ok = { Donor: 'shop:seller', Recipient: 'shop:alice', Theme: 'shop:book', Money: 'shop:ten_euros' };
  invalid(() => validateInstance(buy, instance({ ...ok, Colour: 'shop:book' }), conceptExists, lookup), /has no element "Colour"/);
  invalid(() => validateInstance(buy, instance({ ...ok, Theme: 'shop:nothing' }), conceptExists, lookup), /unknown concept "shop:nothing"/);
  invalid(() => validateInstance(buy, instance({ ...ok, Theme: 'shop:old' }), conceptExists, lookup), /"shop:old", which is deleted/);
  invalid(() => validateInstance(buy, instance({ ...ok, Theme: 'shop:old' }), (id) => id !== 'shop:old', lookup), /unknown concept "shop:old"/);
  const { Donor: _d, ...noDonor } = ok;
  const err = invalid(
    () => validateInstance(buy, instance(noDonor), conceptExists, lookup),
    /core element "Donor" \(inherited from "Transfer"\) of frame "Commerce_buy" is not bound/,
  );
  assert.deepEqual(
    (err.details.issues as { reason: string }[]).map((i) => i.reason),
    ['missing_core_element'],
  );
  const { Money: _m, ...noMoney } = ok;
  invalid(() => validateInstance(buy, instance(noMoney), conceptExists, lookup), /core element "Money" of frame/);
  // Without the lookup, the parent is unknown: that is reported, not ignored.
  invalid(() => validateInstance(buy, instance(ok), conceptExists, () => undefined), /inherits from unknown frame "Transfer"/);
  invalid(() => validateInstance(frames.get('Transfer') as Frame, instance(ok), conceptExists, lookup), /validated against "Transfer"/);
});

test('relations are checked against the frames they link', () => {
  assert.equal(validateRelation(doc.relations[0], lookup).type, 'inheritance');
  invalid(() => validateRelation({ ...doc.relations[0], target: 'Nope' }, lookup), /unknown target frame "Nope"/);
  invalid(() => validateRelation({ ...doc.relations[0], element_mappings: { Price: 'Theme' } }, lookup), /has no element "Price"/);
  assert.equal(parseFrame({ name: 'Z' }).definition, '');
});
