import { get } from './api';
import type { ContextInfo } from './types';
import { useLoad } from './ui';

/** A labelled <select> of the store's contexts ('' = the default context). */
export function ContextSelect({ value, onChange, label = 'Context' }: { value: string; onChange: (v: string) => void; label?: string }) {
  const contexts = useLoad(() => get<{ contexts: ContextInfo[] }>('/api/contexts'), []);
  return (
    <label>
      {label}
      <select name="context" value={value} onChange={(e) => onChange(e.currentTarget.value)}>
        <option value="">default</option>
        {(contexts.data?.contexts ?? [])
          .filter((c) => c.name !== 'default')
          .map((c) => (
            <option key={c.name} value={c.name}>
              {c.name}
            </option>
          ))}
      </select>
    </label>
  );
}
