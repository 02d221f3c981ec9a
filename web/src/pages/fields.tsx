export function Fields() {
  return <h1>Fields</h1>;
}
