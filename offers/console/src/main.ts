import { api, getToken, setToken, whenUnauthorized } from './api.ts';
import { h, clear } from './dom.ts';
import { auditView } from './views/audit.ts';
import { backtestView } from './views/backtest.ts';
import { editorView } from './views/editor.ts';
import { playersView } from './views/players.ts';
import { ruleView } from './views/rule.ts';
import { rulesView } from './views/rules.ts';
import { segmentsView } from './views/segments.ts';

/**
 * The designer console: hash routes `#/rules`, `#/rule/<id>` (charts), `#/editor/<file>`, `#/backtest[/<job>]`,
 * `#/segments`, `#/players[/<id>]`, `#/audit`, behind a login with the admin token.
 */
const app = document.getElementById('app') as HTMLElement;
const nav = document.getElementById('nav') as HTMLElement;
const logout = document.getElementById('logout') as HTMLButtonElement;

function loginView(message = ''): HTMLElement {
  const token = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', placeholder: 'admin token', 'aria-label': 'admin token' });
  const error = h('p', { class: 'bad', id: 'login-error' }, message);
  const form = h('form', { class: 'card login' }, h('h1', {}, 'Sign in'), h('p', { class: 'muted' }, 'Enter the admin token of this PlayPulse.'), token, h('button', { class: 'primary', id: 'login', type: 'submit' }, 'Sign in'), error);
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = token.value.trim();
    api('GET', '/v1/rules', undefined, value).then(
      () => {
        setToken(value);
        location.hash = '#/rules';
        void route();
      },
      (err: Error) => {
        error.textContent = err.message.startsWith('401') || err.message === 'HTTP 401' ? 'That token is not accepted.' : err.message;
      },
    );
  });
  return form;
}

let generation = 0;

async function route(): Promise<void> {
  const mine = ++generation;
  const signedIn = getToken() !== null;
  nav.hidden = !signedIn;
  logout.hidden = !signedIn;
  if (!signedIn) {
    clear(app);
    app.appendChild(loginView());
    return;
  }
  const [tab = 'rules', ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  const param = rest.length ? decodeURIComponent(rest.join('/')) : null;
  nav.querySelectorAll('a').forEach((a) => a.classList.toggle('active', a.dataset.tab === tab));
  let view: HTMLElement;
  try {
    view =
      tab === 'editor' ? await editorView(param)
      : tab === 'backtest' ? await backtestView(param)
      : tab === 'players' ? await playersView(param)
      : tab === 'audit' ? await auditView()
      : tab === 'segments' ? await segmentsView()
      : tab === 'rule' ? await ruleView(param)
      : await rulesView();
  } catch (err) {
    view = h('p', { class: 'bad' }, (err as Error).message);
  }
  if (mine !== generation) return;
  clear(app);
  app.appendChild(view);
}

whenUnauthorized(() => {
  setToken(null);
  clear(app);
  nav.hidden = true;
  logout.hidden = true;
  app.appendChild(loginView('Your session ended: sign in again.'));
});
logout.addEventListener('click', () => {
  setToken(null);
  void route();
});
window.addEventListener('hashchange', () => void route());
void route();
