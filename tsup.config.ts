import { defineConfig } from 'tsup';

// One build, two module formats: `import` gets ESM (.mjs), `require` gets
// CommonJS (.js), each with its own declaration file.
export default defineConfig({
  entry: { index: 'index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  outDir: 'dist',
});
