/**
 * @module How a browser signs in to the review console with the API's own credentials. The login
 * form posts an API key or a bearer token (JWT); it is checked by the API's Authenticator, then kept
 * in an HttpOnly, SameSite=Strict cookie scoped to /console (Secure over HTTPS), and checked again
 * on every request, so an expired token or a removed key stops working at once, and scopes are the
 * API's. Forms that change something carry a CSRF token that must equal a second SameSite=Strict
 * cookie (double submit), and hono/csrf refuses a POST whose Origin is another site.
 */
import { timingSafeEqual } from 'node:crypto';

import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

import type { Authenticator, Credentials, Principal } from '../auth.js';

const SESSION_COOKIE = 'wafgen_console';
const CSRF_COOKIE = 'wafgen_console_csrf';
const COOKIE_PATH = '/console';
/** How long a console sign-in lasts (a JWT's own expiry still applies). */
const SESSION_S = 8 * 3600;
/** Longest credential the login form takes (a JWT with many scopes stays well under it). */
export const MAX_CREDENTIAL_CHARS = 4096;

const JWT = /^[\w-]+\.[\w-]+\.[\w-]*$/;

/** A pasted credential as the API reads it: a JWT goes in Authorization, anything else is an API key. */
function credentialsOf(value: string): Credentials {
  return JWT.test(value) ? { authorization: `Bearer ${value}` } : { apiKey: value };
}

/** Cookies are Secure when the browser reached us over HTTPS (directly, or as the trusted proxy says). */
function secure(c: Context, trustProxy: boolean): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  return trustProxy && c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
}

const cookieOptions = (c: Context, trustProxy: boolean) =>
  ({
    path: COOKIE_PATH,
    httpOnly: true,
    sameSite: 'Strict',
    secure: secure(c, trustProxy),
  }) as const;

/**
 * Who the browser is: the credential in its console cookie, checked as the API checks it; the
 * anonymous principal when authentication is disabled; undefined when it is not signed in.
 * A credential that no longer verifies throws the API's 401.
 */
export async function consolePrincipal(c: Context, auth: Authenticator): Promise<Principal | undefined> {
  const value = getCookie(c, SESSION_COOKIE);
  if (value) return auth.authenticate(credentialsOf(value));
  if (auth.methods.includes('none')) return auth.authenticate({});
  return undefined;
}

/** Checks a pasted credential and, when it verifies, keeps it in the session cookie. */
export async function signIn(
  c: Context,
  auth: Authenticator,
  credential: string,
  trustProxy: boolean,
): Promise<Principal> {
  const principal = await auth.authenticate(credentialsOf(credential));
  setCookie(c, SESSION_COOKIE, credential, { ...cookieOptions(c, trustProxy), maxAge: SESSION_S });
  return principal;
}

export function signOut(c: Context, trustProxy: boolean): void {
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c, trustProxy));
  deleteCookie(c, CSRF_COOKIE, cookieOptions(c, trustProxy));
}

/** This browser's CSRF token (made and set on first use), for the forms of the page being rendered. */
export function csrfToken(c: Context, trustProxy: boolean): string {
  const existing = getCookie(c, CSRF_COOKIE);
  if (existing && /^[0-9a-f]{64}$/.test(existing)) return existing;
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  setCookie(c, CSRF_COOKIE, token, { ...cookieOptions(c, trustProxy), maxAge: SESSION_S });
  return token;
}

/** True when the form's token is this browser's (compared in constant time). */
export function csrfValid(c: Context, submitted: unknown): boolean {
  const expected = getCookie(c, CSRF_COOKIE);
  if (!expected || typeof submitted !== 'string' || submitted.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(submitted), Buffer.from(expected));
}
