import { mount } from 'svelte';
import App from './App.svelte';
import { captureTokenFromUrl } from './lib/api';
import './app.css';

// Before the router reads the hash: the token may be in it.
captureTokenFromUrl();

const target = document.getElementById('app');
if (target === null) throw new Error('Missing #app element');

export default mount(App, { target });
