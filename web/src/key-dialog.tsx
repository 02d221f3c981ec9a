import { useEffect, useRef, useState } from 'preact/hooks';
import { setKeyAsker } from './api';

/** Asks for the API key when the service answers 401 (once per tab: the key stays in sessionStorage). */
export function KeyDialog() {
  const [pending, setPending] = useState<((key: string | null) => void) | null>(null);
  const [value, setValue] = useState('');
  const dialog = useRef<HTMLDialogElement>(null);
  const waiting = useRef<Promise<string | null> | null>(null);

  useEffect(() => {
    setKeyAsker(() => {
      // Several requests may fail at once: they all wait for the same answer.
      waiting.current ??= new Promise<string | null>((resolve) => setPending(() => resolve)).finally(() => {
        waiting.current = null;
      });
      return waiting.current;
    });
  }, []);
  useEffect(() => {
    if (pending && dialog.current && !dialog.current.open) dialog.current.showModal();
  }, [pending]);

  const answer = (key: string | null) => {
    dialog.current?.close();
    pending?.(key);
    setPending(null);
    setValue('');
  };
  return (
    <dialog ref={dialog} aria-labelledby="key-title" onCancel={() => answer(null)}>
      <form
        method="dialog"
        onSubmit={(e) => {
          e.preventDefault();
          answer(value.trim() || null);
        }}
      >
        <h2 id="key-title">API key</h2>
        <p>This service needs its API key (SOFTLOGIC_API_KEY). It is kept for this tab only.</p>
        <label>
          Key <input type="password" name="key" autoComplete="off" value={value} onInput={(e) => setValue(e.currentTarget.value)} autoFocus />
        </label>
        <div class="row">
          <button type="submit">Use key</button>
          <button type="button" onClick={() => answer(null)}>
            Cancel
          </button>
        </div>
      </form>
    </dialog>
  );
}
