"""A tiny Gradio app, as a user would write one: launch() takes its address from GRADIO_SERVER_NAME."""
import gradio as gr


def echo(text):
    return text


gr.Interface(fn=echo, inputs="text", outputs="text", title="aihost loopback test app").launch()
