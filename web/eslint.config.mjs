// ESLint settings for the dashboard (`make lint`): the recommended rules plus a few that
// catch real mistakes, browser globals for the page's modules and Node's for the tests and
// the benchmark.
import js from '@eslint/js';
import globals from 'globals';

export default [
  { ignores: ['node_modules/**'] },
  js.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      // Chart.js is loaded by a script tag of its own (index.html).
      globals: { ...globals.browser, Chart: 'readonly' },
    },
    rules: {
      eqeqeq: ['error', 'always'],
      'no-shadow': 'error',
      'no-unused-vars': ['error', { args: 'after-used', argsIgnorePattern: '^_' }],
      'no-var': 'error',
      'prefer-const': 'error',
      'no-implicit-globals': 'error',
      'no-throw-literal': 'error',
    },
  },
  {
    files: ['tests/**', 'bench/**', 'eslint.config.mjs'],
    languageOptions: { globals: { ...globals.node } },
  },
];
