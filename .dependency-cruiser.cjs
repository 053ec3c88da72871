/**
 * The dependency rules of the monorepo, checked by dependency-cruiser (`npm run lint:deps`, run by `npm test`).
 * docs/architecture.md explains them; CONTRIBUTING.md says how to run and read the check.
 *
 * 1. No import cycle in any package's src/ (type-only imports count: they tie the files together just as much).
 * 2. beep and beam never import each other; base imports no package; only the gateway imports both protocols.
 *    A package imports another only by its name (`@beamgate/beam`), never a path into its files.
 * 3. Inside each package, layers: a directory (or top-level file) may import only from the layers listed for it,
 *    never upwards. LAYERS below is the single definition; docs/architecture.md draws the same table.
 */

/**
 * Per package: rank of each src/ directory (or top-level file, written with its `.ts`). A module may import modules
 * of the same directory and of lower ranks; same rank in another directory is refused too (siblings stay
 * independent), but top-level files of one rank form one layer. Anything not listed is not checked for layers.
 */
const LAYERS = {
  base: { 'errors.ts': 0, 'index.ts': 9 },
  beep: {
    'errors.ts': 0,
    wire: 1,
    session: 2,
    transport: 3,
    profiles: 3,
    testing: 3,
    api: 4,
    conform: 5,
    cli: 6,
    'index.ts': 9,
  },
  beam: {
    'errors.ts': 0,
    wire: 1,
    context: 2,
    jobs: 3,
    sync: 3,
    scripting: 4,
    server: 6,
    client: 5,
    worker: 6,
    conform: 6,
    testing: 6,
    cli: 7,
    'index.ts': 9,
  },
  gateway: {
    'errors.ts': 0,
    'log.ts': 0,
    'metrics.ts': 0,
    'config-types.ts': 0,
    'access.ts': 0,
    wire: 1,
    backend: 2,
    job: 3,
    resp: 3,
    reverse: 3,
    client: 3,
    'security-config.ts': 4,
    'scale-config.ts': 4,
    'tls-material.ts': 4,
    'config.ts': 4,
    'gateway.ts': 4,
    cli: 6,
    'index.ts': 9,
  },
};

/** Named exceptions to the layers, each with its reason in docs/architecture.md. */
const LAYER_EXCEPTIONS = [
  // DUMP/RESTORE and the stream type use sync's RDB codecs and CRC64 (pure functions) rather than a second RDB encoder.
  { pkg: 'beam', layer: 'context', from: '^packages/beam/src/context/(cmd-dump|stream)[.]ts$', to: '^packages/beam/src/sync/(rdb-reader|rdb-writer|crc64|snapshot-source)[.]ts$' },
];

const esc = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function layerRules() {
  const rules = [];
  for (const [pkg, layers] of Object.entries(LAYERS)) {
    const names = Object.keys(layers).filter((n) => n !== '*');
    const pathOf = (n) => `^packages/${pkg}/src/${esc(n)}${n.endsWith('.ts') ? '$' : '/'}`;
    for (const from of names) {
      const rank = layers[from];
      // Top-level files of one rank are one layer (they may import each other); directories of one rank are siblings.
      const sameLayer = (n) => n === from || (n.endsWith('.ts') && from.endsWith('.ts'));
      const above = names.filter((n) => layers[n] > rank || (layers[n] === rank && !sameLayer(n)));
      if (above.length === 0) continue;
      const exceptions = LAYER_EXCEPTIONS.filter((e) => e.pkg === pkg && e.layer === from);
      rules.push({
        name: `layer-${pkg}-${from.replace(/[.]ts$/, '')}`,
        comment: `${pkg}: src/${from} (rank ${rank}) must not import ${above.map((n) => `src/${n}`).join(', ')} (same or higher layer; see docs/architecture.md)`,
        severity: 'error',
        from: { path: pathOf(from), ...(exceptions.length > 0 ? { pathNot: exceptions.map((e) => e.from).join('|') } : {}) },
        to: { path: `(${above.map(pathOf).join('|')})` },
      });
      for (const e of exceptions) {
        rules.push({
          name: `layer-${pkg}-${from.replace(/[.]ts$/, '')}-exception`,
          comment: `${pkg}: the files of a named exception import only what the exception allows from higher layers`,
          severity: 'error',
          from: { path: e.from },
          to: { path: `(${above.map(pathOf).join('|')})`, pathNot: e.to },
        });
      }
    }
  }
  return rules;
}

const pkgPath = (p) => `^(packages/${p}/|@beamgate/${p}($|/))`;

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycle in src/ (type-only imports included). Break it with an interface in the lower module.',
      severity: 'error',
      from: { path: '^packages/[^/]+/src/' },
      to: { circular: true },
    },
    {
      name: 'beep-not-beam',
      comment: 'beep never imports beam (only the gateway knows both protocols).',
      severity: 'error',
      from: { path: '^packages/beep/' },
      to: { path: pkgPath('beam') },
    },
    {
      name: 'beam-not-beep',
      comment: 'beam never imports beep (only the gateway knows both protocols).',
      severity: 'error',
      from: { path: '^packages/beam/' },
      to: { path: pkgPath('beep') },
    },
    {
      name: 'base-imports-no-package',
      comment: '@beamgate/base is below every package: it imports none of them.',
      severity: 'error',
      from: { path: '^packages/base/' },
      to: { path: `(${pkgPath('beep')}|${pkgPath('beam')}|${pkgPath('gateway')})` },
    },
    {
      name: 'nothing-imports-gateway',
      comment: 'The gateway is the top: no other package imports it.',
      severity: 'error',
      from: { path: '^packages/(base|beep|beam)/' },
      to: { path: pkgPath('gateway') },
    },
    {
      name: 'packages-by-name-only',
      comment: "Another package is imported by its name (its public index), never by a path into its files.",
      severity: 'error',
      from: { path: '^packages/([^/]+)/' },
      to: { path: '^packages/[^/]+/(src|test)/', pathNot: '^packages/$1/' },
    },
    ...layerRules(),
  ],
  options: {
    // Type-only imports are dependencies too (they are what made most of the old cycles).
    tsPreCompilationDeps: true,
    // Another package resolves to its built dist/ (through its package.json exports): recorded, not cruised.
    doNotFollow: { path: ['node_modules', '/dist/'] },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.d.ts'] },
  },
};
