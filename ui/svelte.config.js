/** @type {import('@sveltejs/vite-plugin-svelte').SvelteConfig} */
export default {
  compilerOptions: {
    // Every component uses runes; fail loudly on legacy syntax.
    runes: true,
  },
};
