import { defineConfig, type Plugin } from "vite";

/**
 * Module scripts are refused on file:// (an opaque origin), and the renderer
 * is loaded from file:// by Electron and by the end-to-end harness: emit one
 * classic deferred script instead.
 */
function classicScript(): Plugin {
  return {
    name: "custos-classic-script",
    enforce: "post",
    transformIndexHtml(html) {
      return html.replace(/<script type="module" crossorigin src=/g, "<script defer src=").replace(/ crossorigin/g, "");
    },
  };
}

// A static bundle: relative paths, no dev-server assumptions, no Node.
export default defineConfig({
  root: __dirname,
  base: "./",
  esbuild: { jsx: "automatic" },
  plugins: [classicScript()],
  build: {
    outDir: "../dist/renderer",
    emptyOutDir: true,
    target: "chrome120",
    sourcemap: false,
    modulePreload: false,
    cssCodeSplit: false,
    rollupOptions: { output: { format: "iife", inlineDynamicImports: true } },
  },
});
