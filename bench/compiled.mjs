/**
 * `npm run bench` measures the library as users run it: compiled (`npm run build`, into dist/), not
 * transpiled on the fly. The benchmarks import the TypeScript sources (for their types); this resolve
 * hook sends every such import under src/, journal/ and delivery/ to the compiled file in dist/, so
 * the whole run uses one copy of the library. tsx still loads the benchmark files themselves.
 *
 * Without it tsx's keepNames wraps every closure the library creates per message in a naming call,
 * which costs ~10% of the amqp end-to-end figure and is not what a user's process does.
 */
import { existsSync } from 'node:fs';
import { register } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const missing = ['src', 'journal', 'delivery'].filter((dir) => !existsSync(`${root}dist/${dir}`));
if (missing.length > 0) throw new Error(`bench: dist/ lacks ${missing.join(', ')}; run npm run build first (npm run bench does)`);

register(
  `data:text/javascript,${encodeURIComponent(`
    const root = ${JSON.stringify(pathToFileURL(root).href)};
    const library = /^(src|journal|delivery)\\//;
    export async function resolve(specifier, context, next) {
      if (context.parentURL && (specifier.startsWith('./') || specifier.startsWith('../'))) {
        const url = new URL(specifier, context.parentURL).href;
        if (url.startsWith(root) && url.endsWith('.js')) {
          const relative = url.slice(root.length);
          if (library.test(relative)) return next(root + 'dist/' + relative, context);
        }
      }
      return next(specifier, context);
    }
  `)}`,
);
