"""The workbench: forcegen in the browser (``forcegen serve``) and in notebooks.

:mod:`forcegen.web.files` confines every name the page gives to one folder;
:mod:`forcegen.web.session` is what a user can do, as plain Python, with no web framework.
The app and the server over them load Panel only when they start.
"""
