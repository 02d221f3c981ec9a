export function Concepts() {
  return <h1>Concepts</h1>;
}
