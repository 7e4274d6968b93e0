import { render } from 'preact';
render(<p>Latchkey console</p>, document.getElementById('app')!);
