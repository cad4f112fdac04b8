// The Vercel function (vercel.json rewrites every path here): the runtime-neutral API through the
// fetch adapter compiled by `npm run build` (src/api/adapters/vercel.ts).
export { default, GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS } from '../dist/api/adapters/vercel.js';
