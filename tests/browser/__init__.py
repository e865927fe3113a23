"""Browser tests of the console: the real ``siyu serve`` driven by headless Chromium."""
