import express, { Router, type Request, type RequestHandler, type Response } from 'express';
import type { Tenancy } from '../tenancy/tokens';
import { html } from './html';
import { layout } from './layout';

/** The admin token lives in this cookie: HttpOnly (no script reads it), SameSite=Strict, only for /ops. */
export const COOKIE = 'roster_ops';

export function cookieOf(req: Request, name: string): string | undefined {
  for (const part of (req.get('cookie') ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

const cookieAttributes = (req: Request) => `Path=/ops; HttpOnly; SameSite=Strict${req.secure ? '; Secure' : ''}`;

function signInPage(res: Response, status: number, problem?: string): void {
  res.status(status).type('html').send(
    layout(
      { title: 'Sign in' },
      html`<h1>Sign in</h1>
<p>Paste an <strong>admin</strong> token of your tenant (<code>npx roster token create --tenant NAME --scope admin</code>).
It is kept in a cookie this browser sends only to these pages, never in an address.</p>
${problem ? html`<p class="error" role="alert">${problem}</p>` : ''}
<form class="stack" method="post" action="/ops/login">
  <label for="token">Admin token</label>
  <input id="token" name="token" type="password" autocomplete="off" required autofocus size="60">
  <p><button class="primary" type="submit">Sign in</button></p>
</form>`,
    ).value,
  );
}

/** GET and POST /ops/login, POST /ops/logout. */
export function signInRouter(tenancy: Tenancy): Router {
  const router = Router();
  router.get('/login', (_req, res) => signInPage(res, 200));
  router.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    // A form posted from another site would sign this browser into someone else's tenant.
    if (req.get('sec-fetch-site') === 'cross-site') return signInPage(res, 403, 'Sign in from this page, not from a form on another site.');
    const token = typeof (req.body as { token?: unknown } | undefined)?.token === 'string' ? (req.body as { token: string }).token.trim() : '';
    const principal = token ? await tenancy.authenticate(token, 'admin') : undefined;
    if (!principal) return signInPage(res, 401, 'That is not a live admin token. A SCIM token cannot sign in here.');
    res.setHeader('Set-Cookie', `${COOKIE}=${encodeURIComponent(token)}; ${cookieAttributes(req)}`);
    res.redirect(303, '/ops/log');
  });
  router.post('/logout', (req, res) => {
    res.setHeader('Set-Cookie', `${COOKIE}=; ${cookieAttributes(req)}; Max-Age=0`);
    res.redirect(303, '/ops/login');
  });
  return router;
}

/** Every other page: the cookie's token must still be a live admin token, or back to sign-in. */
export function requireSignIn(tenancy: Tenancy): RequestHandler {
  return async (req, res, next) => {
    const token = cookieOf(req, COOKIE);
    const principal = token ? await tenancy.authenticate(token, 'admin') : undefined;
    if (!principal) {
      if (token) res.setHeader('Set-Cookie', `${COOKIE}=; ${cookieAttributes(req)}; Max-Age=0`);
      return res.redirect(303, '/ops/login');
    }
    req.principal = principal;
    next();
  };
}

/** Pages never cached, never framed, no script, nothing fetched from elsewhere. */
export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cache-Control', 'no-store');
  next();
};
