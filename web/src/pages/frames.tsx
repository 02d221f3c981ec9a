export function Frames() {
  return <h1>Frames</h1>;
}
