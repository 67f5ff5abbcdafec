import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { fromHex, toHex, fromBase64, toBase64 } from '../../../../shared/bytes';
import { CompactRange, frontierNodes } from '../../../../shared/ledger/compact-range';
import { MemoryTree } from '../../../../shared/ledger/memory-tree';
import { consistencyProof, inclusionProof, rootFromInclusionProof, treeRoot, verifyConsistency, verifyInclusion } from '../../../../shared/ledger/proofs';
import { nodeTreeHasher as hasher, nodeSha256 } from '../../../../shared/node/ledger/node-crypto';

// Test vectors of the Certificate Transparency C++ merkle_tree_test and
// transparency-dev/merkle proof/verify_test.go (RFC 6962 hashing, SHA-256).
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(fromHex);
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const EMPTY_ROOT = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const SOME_HASH = fromHex('abacaba000000000000000000000000000000000000000000060061e00123456');

// { leaf (1-based as in the Go vectors), size, proof }
const INCLUSION = [
  { leaf: 1, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { leaf: 6, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { leaf: 3, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { leaf: 2, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { leaf: 1, size: 1, proof: [] },
];
const CONSISTENCY = [
  { size1: 1, size2: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { size1: 6, size2: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { size1: 2, size2: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { size1: 6, size2: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { size1: 1, size2: 1, proof: [] },
];

const tree = new MemoryTree(hasher, LEAVES.map((l) => hasher.leaf(l)));

function rejects(fn: () => void): boolean {
  try {
    fn();
    return false;
  } catch (e) {
    assert.equal((e as { code?: string }).code, 'verification_failed', String(e));
    return true;
  }
}

describe('RFC 6962 tree hashes', () => {
  test('empty tree root is SHA-256 of the empty string', () => {
    assert.equal(toHex(hasher.emptyRoot()), EMPTY_ROOT);
    assert.equal(toHex(new CompactRange(hasher).root()), EMPTY_ROOT);
    assert.equal(toHex(treeRoot(hasher, tree, 0)), EMPTY_ROOT);
  });

  test('root of every prefix of the 8-leaf tree, by compact range and by node source', () => {
    const range = new CompactRange(hasher);
    LEAVES.forEach((leaf, i) => {
      range.append(hasher.leaf(leaf));
      assert.equal(toHex(range.root()), ROOTS[i], `compact range root at size ${i + 1}`);
      assert.equal(toHex(treeRoot(hasher, tree, i + 1)), ROOTS[i], `tree root at size ${i + 1}`);
    });
  });

  test('compact range restored from its frontier nodes continues correctly', () => {
    for (let size = 0; size <= 8; size++) {
      const nodes = frontierNodes(size).map(({ level, index }) => tree.perfect(level, index));
      const range = new CompactRange(hasher, size, nodes);
      for (let i = size; i < 8; i++) range.append(hasher.leaf(LEAVES[i]!));
      assert.equal(toHex(range.root()), ROOTS[7]);
    }
  });

  test('leaf hash of the empty leaf', () => {
    assert.equal(toHex(hasher.leaf(new Uint8Array())), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
  });
});

describe('inclusion proofs (RFC 9162 §2.1.3)', () => {
  for (const v of INCLUSION) {
    test(`leaf ${v.leaf - 1} in size ${v.size}: generated = published, verifies, every corruption rejected`, () => {
      const index = v.leaf - 1;
      const proof = v.proof.map(fromHex);
      const root = fromHex(ROOTS[v.size - 1]!);
      const leafHash = hasher.leaf(LEAVES[index]!);
      assert.deepEqual(inclusionProof(hasher, tree, index, v.size).map(toHex), v.proof);
      assert.equal(toHex(rootFromInclusionProof(hasher, index, v.size, leafHash, proof)), ROOTS[v.size - 1]);
      verifyInclusion(hasher, index, v.size, leafHash, proof, root);
      const probes: Array<[string, () => void]> = [
        ['index - 1', () => verifyInclusion(hasher, index - 1, v.size, leafHash, proof, root)],
        ['index + 1', () => verifyInclusion(hasher, index + 1, v.size, leafHash, proof, root)],
        ['index ^ 2', () => verifyInclusion(hasher, index ^ 2, v.size, leafHash, proof, root)],
        ['size * 2', () => verifyInclusion(hasher, index, v.size * 2, leafHash, proof, root)],
        ['size / 2', () => verifyInclusion(hasher, index, Math.floor(v.size / 2), leafHash, proof, root)],
        ['wrong leaf', () => verifyInclusion(hasher, index, v.size, hasher.leaf(new TextEncoder().encode('WrongLeaf')), proof, root)],
        ['empty root', () => verifyInclusion(hasher, index, v.size, leafHash, proof, fromHex(EMPTY_ROOT))],
        ['random root', () => verifyInclusion(hasher, index, v.size, leafHash, proof, SOME_HASH)],
        ['trailing garbage', () => verifyInclusion(hasher, index, v.size, leafHash, [...proof, new Uint8Array()], root)],
        ['trailing root', () => verifyInclusion(hasher, index, v.size, leafHash, [...proof, root], root)],
        ['preceding garbage', () => verifyInclusion(hasher, index, v.size, leafHash, [new Uint8Array(), ...proof], root)],
        ['preceding root', () => verifyInclusion(hasher, index, v.size, leafHash, [root, ...proof], root)],
      ];
      proof.forEach((_, i) => {
        const wrong = proof.map((p) => p.slice());
        wrong[i]![0]! ^= 8;
        probes.push([`flipped bit in proof[${i}]`, () => verifyInclusion(hasher, index, v.size, leafHash, wrong, root)]);
      });
      if (proof.length > 0) probes.push(['removed node', () => verifyInclusion(hasher, index, v.size, leafHash, proof.slice(0, -1), root)]);
      if (proof.length > 1) probes.push(['inserted node', () => verifyInclusion(hasher, index, v.size, leafHash, [proof[0]!, SOME_HASH, ...proof.slice(1)], root)]);
      const accepted = probes.filter(([, fn]) => !rejects(fn)).map(([name]) => name);
      assert.deepEqual(accepted, [], `corrupted proofs accepted: ${accepted.join(', ')}`);
    });
  }

  test('degenerate inputs are rejected', () => {
    for (const [index, size] of [[0, 0], [1, 0], [2, 1]] as const) {
      assert.ok(rejects(() => verifyInclusion(hasher, index, size, SOME_HASH, [], fromHex(EMPTY_ROOT))));
    }
    assert.ok(rejects(() => verifyInclusion(hasher, 0, 1, new Uint8Array(), [], new Uint8Array())));
  });
});

describe('consistency proofs (RFC 9162 §2.1.4)', () => {
  for (const v of CONSISTENCY) {
    test(`size ${v.size1} → ${v.size2}: generated = published, verifies, every corruption rejected`, () => {
      const proof = v.proof.map(fromHex);
      const root1 = fromHex(ROOTS[v.size1 - 1]!);
      const root2 = fromHex(ROOTS[v.size2 - 1]!);
      assert.deepEqual(consistencyProof(hasher, tree, v.size1, v.size2).map(toHex), v.proof);
      verifyConsistency(hasher, v.size1, v.size2, proof, root1, root2);
      if (proof.length === 0) return;
      const probes: Array<[string, () => void]> = [
        ['size1 - 1', () => verifyConsistency(hasher, v.size1 - 1, v.size2, proof, root1, root2)],
        ['size1 + 1', () => verifyConsistency(hasher, v.size1 + 1, v.size2, proof, root1, root2)],
        ['size1 ^ 2', () => verifyConsistency(hasher, v.size1 ^ 2, v.size2, proof, root1, root2)],
        ['size2 * 2', () => verifyConsistency(hasher, v.size1, v.size2 * 2, proof, root1, root2)],
        ['size2 / 2', () => verifyConsistency(hasher, v.size1, Math.floor(v.size2 / 2), proof, root1, root2)],
        ['wrong root1', () => verifyConsistency(hasher, v.size1, v.size2, proof, SOME_HASH, root2)],
        ['wrong root2', () => verifyConsistency(hasher, v.size1, v.size2, proof, root1, SOME_HASH)],
        ['swapped roots', () => verifyConsistency(hasher, v.size1, v.size2, proof, root2, root1)],
        ['empty proof', () => verifyConsistency(hasher, v.size1, v.size2, [], root1, root2)],
        ['trailing garbage', () => verifyConsistency(hasher, v.size1, v.size2, [...proof, new Uint8Array()], root1, root2)],
        ['trailing root1', () => verifyConsistency(hasher, v.size1, v.size2, [...proof, root1], root1, root2)],
        ['trailing root2', () => verifyConsistency(hasher, v.size1, v.size2, [...proof, root2], root1, root2)],
        ['preceding garbage', () => verifyConsistency(hasher, v.size1, v.size2, [new Uint8Array(), ...proof], root1, root2)],
        ['preceding root1', () => verifyConsistency(hasher, v.size1, v.size2, [root1, ...proof], root1, root2)],
        ['preceding root2', () => verifyConsistency(hasher, v.size1, v.size2, [root2, ...proof], root1, root2)],
        ['preceding proof[0]', () => verifyConsistency(hasher, v.size1, v.size2, [proof[0]!, ...proof], root1, root2)],
        ['truncated proof', () => verifyConsistency(hasher, v.size1, v.size2, proof.slice(0, -1), root1, root2)],
      ];
      proof.forEach((_, i) => {
        const wrong = proof.map((p) => p.slice());
        wrong[i]![0]! ^= 16;
        probes.push([`flipped bit in proof[${i}]`, () => verifyConsistency(hasher, v.size1, v.size2, wrong, root1, root2)]);
      });
      const accepted = probes.filter(([, fn]) => !rejects(fn)).map(([name]) => name);
      assert.deepEqual(accepted, [], `corrupted proofs accepted: ${accepted.join(', ')}`);
    });
  }

  test('trivial and impossible size pairs', () => {
    const r1 = fromHex(ROOTS[0]!);
    const r2 = fromHex(ROOTS[1]!);
    verifyConsistency(hasher, 0, 0, [], r1, r1);
    verifyConsistency(hasher, 0, 1, [], r1, r2);
    verifyConsistency(hasher, 1, 1, [], r2, r2);
    assert.ok(rejects(() => verifyConsistency(hasher, 1, 1, [], r1, r2)), 'split view at equal size');
    assert.ok(rejects(() => verifyConsistency(hasher, 2, 1, [], r1, r2)), 'time travel');
    assert.ok(rejects(() => verifyConsistency(hasher, 1, 2, [], r1, r2)), 'empty proof');
    assert.ok(rejects(() => verifyConsistency(hasher, 1, 1, [fromHex(EMPTY_ROOT)], r1, r1)), 'non-empty proof at equal size');
  });

  test('every size pair of a 40-leaf tree round-trips', () => {
    const big = new MemoryTree(hasher);
    for (let i = 0; i < 40; i++) big.appendData(new Uint8Array([i, i >> 8]));
    for (let m = 0; m <= 40; m++) {
      for (let n = m; n <= 40; n++) {
        verifyConsistency(hasher, m, n, consistencyProof(hasher, big, m, n), treeRoot(hasher, big, m), treeRoot(hasher, big, n));
      }
      for (let i = 0; i < m; i++) verifyInclusion(hasher, i, m, big.perfect(0, i), inclusionProof(hasher, big, i, m), treeRoot(hasher, big, m));
    }
  });
});

describe('base64', () => {
  test('round trip and strictness', () => {
    for (let n = 0; n < 20; n++) {
      const bytes = nodeSha256(new Uint8Array([n])).slice(0, n);
      assert.equal(toBase64(bytes), Buffer.from(bytes).toString('base64'));
      assert.deepEqual(fromBase64(toBase64(bytes)), bytes);
    }
    assert.throws(() => fromBase64('AB=='.replace('B', 'C')));
    assert.throws(() => fromBase64('abc'));
  });
});
