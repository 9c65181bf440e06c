"""A minimal Gradio app (real Gradio from the lab image's /opt/gradio venv) for the Molecule tests.

It binds GRADIO_SERVER_NAME:GRADIO_SERVER_PORT from the unit's environment, as Gradio's launch()
does when no server_name is passed.
"""
import gradio as gr


def echo(text):
    return text


gr.Interface(fn=echo, inputs="text", outputs="text", title="aihost test app").launch()
