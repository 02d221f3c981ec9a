export function Analogies() {
  return <h1>Analogies</h1>;
}
