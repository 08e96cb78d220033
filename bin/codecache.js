// Loads a CommonJS bundle (dist/cli.cjs, a bench bundle) through V8's code
// cache. Compiling the 2.3 MB bundle costs about 36 ms on every start on the
// 2-core machine, and a no-op build pays it too; with the cache it is about
// 15 ms, and the functions the first run compiled lazily come from the cache
// as well. Node 20 has no module.enableCompileCache (Node 22), so this is
// the vm.Script form of it.
//
// The cache sits beside the bundle, `<bundle>.<ino>-<mtime>-<size>.v8cache`:
// V8 checks only the source's length, not its bytes, so the name ties the
// cache to this exact file (a rebuilt bundle is a new file: bin/build.js
// renames it into place). It is written once, at exit, when there was no
// usable cache; a directory we cannot write to (an installed copy) just
// means no cache. Any problem reading or using it means compiling as usual.
import { readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

export function loadWithCodeCache(file) {
  let source;
  let st;
  try {
    st = statSync(file);
    source = readFileSync(file, 'utf8');
  } catch {
    return createRequire(import.meta.url)(file); // the usual error for a missing bundle
  }
  const cacheFile = `${file}.${st.ino}-${Math.floor(st.mtimeMs)}-${st.size}.v8cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  const script = new Script(Module.wrap(source), {
    filename: file,
    ...(cachedData ? { cachedData } : {}),
  });
  if (!cachedData || script.cachedDataRejected) process.once('exit', () => saveCache(script, file, cacheFile));
  // The bundle's import("package") calls (bin/build.js routes them here): a vm.Script cannot import() on
  // Node 20 without --experimental-vm-modules. bin/ and dist/ share node_modules, so packages resolve alike.
  globalThis.__pystonBuildImport ??= (specifier) => import(specifier);
  const mod = new Module(file, undefined);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(dirname(file));
  mod.loaded = true;
  script.runInThisContext().call(mod.exports, mod.exports, createRequire(file), mod, file, dirname(file));
  return mod.exports;
}

function saveCache(script, file, cacheFile) {
  const tmp = `${cacheFile}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, script.createCachedData());
    renameSync(tmp, cacheFile);
    const prefix = `${basename(file)}.`;
    for (const n of readdirSync(dirname(file))) {
      if (n.startsWith(prefix) && n.endsWith('.v8cache') && n !== basename(cacheFile)) rmSync(join(dirname(file), n), { force: true });
    }
  } catch {
    rmSync(tmp, { force: true });
  }
}
