"""A minimal Gradio app (real Gradio from the lab image's /opt/gradio venv) for the cpu_only scenario.

launch() binds GRADIO_SERVER_NAME:GRADIO_SERVER_PORT from the unit's environment, as Gradio does when
no server_name is passed.
"""
import gradio as gr


def echo(text):
    return text


gr.Interface(fn=echo, inputs="text", outputs="text", title="aihost cpu_only test app").launch()
