import { signIn } from '../lib/api.js';
import { Form } from '../components/ui.jsx';

// The token is sent once, in a POST body; the answer sets an HttpOnly cookie.
// The field is cleared at once and the token is kept nowhere.
export function SignIn() {
  const submit = async (form) => {
    const input = form.elements.token;
    const token = input.value.trim();
    if (!token) throw new Error('Paste an API token first.');
    try {
      await signIn(token);
    } finally {
      input.value = '';
    }
  };
  return (
    <main id="main" class="signin">
      <h1>ferry</h1>
      <p>Sign in with an API token. It is exchanged for a session once and is not kept by this browser.</p>
      <Form onSubmit={submit} label="Sign in">
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck={false}
          placeholder="fry_…" required autofocus />
        <button type="submit">Sign in</button>
      </Form>
      <p class="muted small">
        An admin token is in <code>DATA/admin.token</code> after the first start;
        <code> ferry token create --role viewer</code> makes others.
      </p>
    </main>
  );
}
