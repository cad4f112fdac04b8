// LOWERCASE (AWS): ASCII A–Z → a–z only. Bytes ≥ 0x80 are untouched, unlike String#toLowerCase: the
// request model's own ASCII lower-casing (see there for its native fast path).
export { asciiLower as lowercase } from '../../requests/model.js';
