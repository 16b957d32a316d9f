/**
 * Where the console's bundle lives (built by scripts/build-console.ts from
 * web/console) and what its pages may load. One list, shared by the build and
 * the controller that serves it.
 */
import { join } from 'node:path';
import { projectRoot } from '../graphql/graphiql-assets';

export const CONSOLE_ASSET_DIR = join(projectRoot(__dirname), 'dist', 'console');

export const CONSOLE_ASSETS: Record<string, { file: string; type: string }> = {
  'console.js': { file: 'console.js', type: 'application/javascript; charset=utf-8' },
  'console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};

/**
 * The console's page: no inline script or style, everything from this origin.
 * Styles set through the DOM (React's style prop, the chart and graph
 * libraries' positions) are CSSOM writes, which style-src does not govern.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');
